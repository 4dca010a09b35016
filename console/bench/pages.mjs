// Page loads of the console in chromium, for ./bench/run console (bench/EnvFabric.Bench/ConsoleBenchmarks.cs seeds
// the host first). For each page and run: a fresh browser context (nothing cached) signed in through the API, a
// navigation, then the network quiet for 500 ms; the load time is from the navigation's start to the end of the
// last response the page asked for (every call its first view makes, the NDJSON list stream included).
// Prints "page=<name> ms=<value>" per run. Environment: BASE_URL, KEY, PAGES (name=path,...), RUNS.
import { chromium } from 'playwright-core'

const baseUrl = process.env.BASE_URL
const key = process.env.KEY
const runs = Number(process.env.RUNS ?? '5')
const pages = (process.env.PAGES ?? '').split(',').filter(Boolean).map((p) => p.split('='))
if (!baseUrl || !key || pages.length === 0) {
  console.error('BASE_URL, KEY and PAGES are required')
  process.exit(2)
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
})
try {
  for (let run = 0; run <= runs; run++) {
    for (const [name, path] of pages) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: baseUrl })
      const login = await context.request.post('/api/auth/login', { data: { key } })
      if (!login.ok()) throw new Error(`login: ${login.status()}`)
      const page = await context.newPage()
      const errors = []
      page.on('pageerror', (e) => errors.push(e.message))
      await page.goto(path, { waitUntil: 'networkidle', timeout: 60_000 })
      const ms = await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0]
        const last = Math.max(nav.loadEventEnd, ...performance.getEntriesByType('resource').map((r) => r.responseEnd))
        return last - nav.startTime
      })
      if (errors.length) throw new Error(`${name}: ${errors.join('; ')}`)
      // Run 0 warms the host (JIT, table caches); it is not reported.
      if (run > 0) console.log(`page=${name} ms=${ms.toFixed(1)}`)
      await context.close()
    }
  }
} finally {
  await browser.close()
}
