// What every browser test uses: the stack's URL and key, a chromium page that records console errors, sign-in,
// screenshots under test-results/screenshots, and direct API calls to compare the page with.
import { mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { existsSync } from 'node:fs'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { expect, inject } from 'vitest'

const here = dirname(fileURLToPath(import.meta.url))
export const screenshotDir = resolve(here, '../../test-results/screenshots')

export const baseUrl = (): string => inject('baseUrl')
export const masterKey = (): string => inject('masterKey')
export const dataRoot = (): string => inject('dataRoot')

export const desktop = { width: 1280, height: 800 }
export const phone = { width: 390, height: 844 }

const chromiumPath = (): string => {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
  if (!existsSync(path)) throw new Error(`chromium not found at ${path} (./test installs it with apt-get; or set CHROMIUM_PATH)`)
  return path
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-default-apps',
      '--disable-sync',
      '--no-first-run',
      '--disable-features=Translate,MediaRouter,OptimizationHints',
    ],
  })
}

export interface ConsolePage {
  context: BrowserContext
  page: Page
  /** Console errors and uncaught exceptions seen so far. */
  errors: string[]
}

/** A new page (own cookies) that records console errors and page errors. Expected API failures are allowed by `allow`. */
export async function openPage(browser: Browser, viewport = desktop, allow: RegExp[] = []): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport, baseURL: baseUrl() })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error' && !allow.some((a) => a.test(m.text()))) errors.push(m.text())
  })
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
  return { context, page, errors }
}

export async function signIn(page: Page, key = masterKey()): Promise<void> {
  await page.goto('/login')
  await page.getByTestId('login-key').fill(key)
  await page.getByTestId('login-submit').click()
  await page.getByTestId('sign-out').waitFor()
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true })
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true })
}

export function expectNoConsoleErrors(p: ConsolePage): void {
  expect(p.errors, 'console errors').toEqual([])
}

/** A call to the API with the master key, to compare what a page shows with what the API says. */
export async function apiCall<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(baseUrl() + path, {
    method,
    headers: { 'x-functions-key': masterKey(), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  })
  const text = await response.text()
  let parsed: unknown = text
  try { parsed = JSON.parse(text) } catch { /* text */ }
  return { status: response.status, body: parsed as T }
}

/** Polls until `probe` returns a value that is not undefined/false, or fails after `seconds`. */
export async function eventually<T>(what: string, seconds: number, probe: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + seconds * 1000
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const v = await probe()
      if (v !== undefined && v !== false) return v as T
    } catch (e) {
      last = e
    }
    await new Promise((r) => setTimeout(r, 300))
  }
  throw new Error(`${what}: not within ${seconds} s${last ? ` (last error: ${String(last)})` : ''}`)
}
