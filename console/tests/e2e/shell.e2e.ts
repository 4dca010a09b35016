import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { apiCall, baseUrl, desktop, expectNoConsoleErrors, launch, openPage, phone, screenshot, signIn } from './support'

// Sign-in, the navigation shell, client routes and the host's serving of the console.
describe('console shell', () => {
  let browser: Browser
  beforeAll(async () => { browser = await launch() })
  afterAll(async () => { await browser?.close() })

  it('refuses a wrong key with the API message, then signs in with the master key', async () => {
    const p = await openPage(browser, desktop, [/401/])
    await p.page.goto('/tasks')
    await p.page.waitForURL(/\/login\?next=(%2F|\/)tasks/)
    await p.page.getByTestId('login-key').fill('not-a-key')
    await p.page.getByTestId('login-submit').click()
    const login = await apiCall<{ message: string }>('POST', '/api/auth/login', { key: 'not-a-key' })
    expect(login.status).toBe(401)
    await expect.poll(() => p.page.getByTestId('login-error').textContent()).toBe(login.body.message)
    await screenshot(p.page, 'login')
    await signIn(p.page)
    await p.page.goto('/tasks')
    expect(await p.page.getByTestId('who').textContent()).toContain('admin')
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('serves a client route on reload, hashed assets immutable and the page revalidated', async () => {
    const page = await fetch(baseUrl() + '/orchestrations/some-id')
    expect(page.status).toBe(200)
    expect(page.headers.get('cache-control')).toBe('no-cache')
    const html = await page.text()
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1]
    expect(asset).toBeTruthy()
    const js = await fetch(baseUrl() + asset!)
    expect(js.status).toBe(200)
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect((await fetch(baseUrl() + '/assets/missing-file.js')).status).toBe(404)
    // The APIs keep their own answers: an unknown API route is not the page.
    expect((await fetch(baseUrl() + '/api/no-such-route')).headers.get('content-type')).not.toContain('text/html')
  })

  it('works at phone width with the menu behind a button', async () => {
    const p = await openPage(browser, phone)
    await signIn(p.page)
    const nav = p.page.locator('#nav')
    expect(await nav.isVisible()).toBe(false)
    await p.page.getByRole('button', { name: 'Menu' }).click()
    expect(await nav.isVisible()).toBe(true)
    await nav.getByRole('link', { name: 'Audit' }).click()
    await p.page.waitForURL(/\/audit$/)
    expect(await nav.isVisible()).toBe(false)
    await screenshot(p.page, 'phone-audit')
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('is keyboard reachable: the skip link and the navigation take focus in order', async () => {
    const p = await openPage(browser)
    await signIn(p.page)
    await p.page.goto('/')
    await p.page.getByTestId('sign-out').waitFor()
    await p.page.keyboard.press('Tab')
    expect(await p.page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content')
    const seen: string[] = []
    for (let i = 0; i < 12; i++) {
      await p.page.keyboard.press('Tab')
      seen.push(await p.page.evaluate(() => document.activeElement?.textContent?.trim() ?? ''))
    }
    for (const name of ['Dashboard', 'Environments', 'Tasks', 'Projects', 'Audit', 'Settings', 'Orchestrations']) expect(seen).toContain(name)
    await p.context.close()
  })
})
