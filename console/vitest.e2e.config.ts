import { defineConfig } from 'vitest/config'

// Browser tests: a real host, runner and Azurite (tests/e2e/global-setup.ts) driven through Debian's chromium with
// playwright-core. One file at a time: they share the host, and two browsers on two cores only slow each other.
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.e2e.ts'],
    environment: 'node',
    globalSetup: ['tests/e2e/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 240_000,
    // A failure is real: no retries hide a flaky step.
    retry: 0,
  },
})
