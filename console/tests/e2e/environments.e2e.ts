import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { apiCall, desktop, expectNoConsoleErrors, launch, openPage, phone, screenshot, signIn } from './support'

// The environments pages against the real host and runner (venv backend, a wheelhouse with envfabric_demo 1.0).
interface Item { name: string; python_version: string; package_count: number; status: string }
interface Detail { name: string; status: string; packages: { name: string; version: string }[]; last_operation_id: string | null }

const suffix = randomBytes(3).toString('hex')
const isDemo = (n: string | null | undefined) => /^envfabric[-_]demo$/i.test(n ?? '')

describe('environments pages', () => {
  let browser: Browser
  beforeAll(async () => { browser = await launch() })
  afterAll(async () => { await browser?.close() })

  it('refuses a bad name with the API message, builds an environment while its log streams, then installs, removes, exports, renames and deletes', async () => {
    const p = await openPage(browser, desktop, [/status of 4\d\d/])
    const { page } = p
    await signIn(page)
    await page.goto('/environments/new')

    // A bad name: the API's own message, not a client-side check.
    const bad = await apiCall<{ message: string; error: string }>('POST', '/api/conda/environment', { name: 'bad name!', packages: [] })
    expect(bad.status).toBe(400)
    await page.getByTestId('env-name').fill('bad name!')
    await page.getByTestId('env-create-submit').click()
    await expect.poll(() => page.getByTestId('error').first().textContent(), { timeout: 30_000 }).toContain(bad.body.message)
    expect(await page.getByTestId('error').first().textContent()).toContain(bad.body.error)

    // A real build: the log is followed while the POST is still pending.
    const name = `web-${suffix}`
    await page.getByTestId('env-name').fill(name)
    await page.getByTestId('env-packages').fill('envfabric_demo==1.0')
    await page.getByTestId('env-create-submit').click()
    await page.getByTestId('log-state').waitFor({ timeout: 60_000 })
    const streamedWhileBusy = await page.getByTestId('env-create-busy').count()
    await expect.poll(() => page.getByTestId('log').textContent(), { timeout: 120_000 }).toMatch(/envfabric[-_]demo/i)
    await page.getByTestId('env-create-outcome').waitFor({ timeout: 120_000 })
    expect(await page.getByTestId('env-create-outcome').textContent()).toContain('Environment created successfully')
    expect(streamedWhileBusy, 'the log stream started before the create call answered').toBe(1)
    await expect.poll(() => page.getByTestId('env-log-end').textContent(), { timeout: 60_000 }).toContain('succeeded')
    await screenshot(page, 'environments-create')

    // Detail: the packages the API lists.
    await page.getByTestId('env-create-detail').click()
    await page.waitForURL(new RegExp(`/environments/${name}$`))
    await page.getByTestId('pkg-row').first().waitFor()
    const detail = await apiCall<Detail>('GET', `/api/conda/environment/${name}`)
    expect(detail.body.status).toBe('ready')
    const rows = await page.getByTestId('pkg-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))
    expect(rows).toEqual(detail.body.packages.map((x) => x.name))
    const demo = detail.body.packages.find((x) => isDemo(x.name))
    expect(demo?.version).toBe('1.0')
    // The latest install log is the create's.
    await expect.poll(() => page.getByTestId('log').textContent(), { timeout: 60_000 }).toMatch(/envfabric[-_]demo/i)
    // Only a failed environment is reset.
    expect(await page.getByTestId('env-reset').isDisabled()).toBe(true)

    // Export: the lock file of the build, downloaded.
    const download = page.waitForEvent('download')
    await page.getByTestId('env-export').click()
    const file = await download
    expect(file.suggestedFilename()).toContain(name)
    const exported = await apiCall<{ lock: string }>('GET', `/api/conda/environment/${name}/export`)
    expect(exported.status).toBe(200)
    await expect.poll(() => page.getByTestId('env-lock').textContent()).toBe(exported.body.lock)
    expect(exported.body.lock).toMatch(/envfabric[-_]demo==1\.0/i)

    // Remove the package, then install it again.
    await page.getByTestId(`pkg-select-${demo!.name}`).check()
    await page.getByTestId('pkg-remove').click()
    await expect.poll(() => page.getByTestId('env-notice').textContent(), { timeout: 120_000 }).toContain('Packages removed successfully')
    await expect.poll(async () => (await apiCall<Detail>('GET', `/api/conda/environment/${name}`)).body.packages.some((x) => isDemo(x.name))).toBe(false)
    await expect.poll(() => page.locator(`[data-testid="pkg-row"][data-name="${demo!.name}"]`).count(), { timeout: 30_000 }).toBe(0)
    await page.getByTestId('pkg-install-specs').fill('envfabric_demo==1.0')
    await page.getByTestId('pkg-install').click()
    await expect.poll(() => page.getByTestId('env-notice').textContent(), { timeout: 120_000 }).toContain('Packages installed successfully')
    await expect.poll(() => page.locator('[data-testid="pkg-row"]').evaluateAll((els) => els.some((e) => /^envfabric[-_]demo$/i.test(e.getAttribute('data-name') ?? ''))), { timeout: 30_000 }).toBe(true)
    // The log shown is now the install's.
    await expect.poll(() => page.getByTestId('log').textContent(), { timeout: 60_000 }).toMatch(/envfabric[-_]demo/i)
    await screenshot(page, 'environments-detail')

    // Rename.
    const renamed = `${name}-b`
    await page.getByTestId('env-new-name').fill(renamed)
    await page.getByTestId('env-rename').click()
    await page.waitForURL(new RegExp(`/environments/${renamed}$`), { timeout: 120_000 })
    await expect.poll(() => page.getByTestId('env-notice').textContent(), { timeout: 30_000 }).toContain('Environment renamed successfully')
    expect((await apiCall('GET', `/api/conda/environment/${name}`)).status).toBe(404)
    expect((await apiCall('GET', `/api/conda/environment/${renamed}`)).status).toBe(200)

    // Delete, confirmed.
    await page.getByTestId('env-delete').click()
    await page.getByTestId('env-delete-confirm').click()
    await page.waitForURL(/\/environments$/, { timeout: 120_000 })
    expect((await apiCall('GET', `/api/conda/environment/${renamed}`)).status).toBe(404)
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('streams the list: rows equal to the API list, filtered by name, usable at phone width', async () => {
    const names = [`list-a-${suffix}`, `list-b-${suffix}`]
    const made = await Promise.all(names.map((n) => apiCall('POST', '/api/conda/environment', { name: n, packages: [] })))
    expect(made.map((m) => m.status)).toEqual([201, 201])
    const p = await openPage(browser)
    const { page } = p
    await signIn(page)
    await page.goto('/environments')
    await page.locator('[data-testid="env-count"][data-state="done"]').waitFor({ timeout: 30_000 })
    const api = await apiCall<Item[]>('GET', '/api/conda/environments')
    const rows = await page.getByTestId('env-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))
    expect(rows).toEqual(api.body.map((e) => e.name))
    for (const n of names) expect(rows).toContain(n)
    const first = page.locator(`[data-testid="env-row"][data-name="${names[0]}"]`)
    expect(await first.locator('td').nth(2).textContent()).toBe(String(api.body.find((e) => e.name === names[0])!.package_count))
    await page.getByTestId('env-filter').fill('list-b-')
    await expect.poll(() => page.getByTestId('env-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))).toEqual([names[1]])
    await page.getByTestId('env-filter').fill('')
    await screenshot(page, 'environments-list')

    // A missing environment: the frame and the API's message.
    const missing = await apiCall<{ message: string }>('GET', '/api/conda/environment/no-such-env')
    const q = await openPage(browser, phone, [/status of 404/])
    await signIn(q.page)
    await q.page.goto('/environments/no-such-env')
    await expect.poll(() => q.page.getByTestId('error').textContent(), { timeout: 30_000 }).toContain(missing.body.message)
    expect(await q.page.getByTestId('env-title').textContent()).toBe('no-such-env')
    await q.page.goto('/environments')
    await q.page.locator('[data-testid="env-count"][data-state="done"]').waitFor({ timeout: 30_000 })
    expect(await q.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(phone.width)
    expectNoConsoleErrors(p)
    expectNoConsoleErrors(q)
    await p.context.close()
    await q.context.close()
    for (const n of names) expect((await apiCall('DELETE', `/api/conda/environment/${n}`)).status).toBe(200)
  })

  it('shows a failed build with its log, and offers reset with the API outcome, and delete', async () => {
    const p = await openPage(browser, desktop, [/status of (4\d\d|500)/])
    const { page } = p
    await signIn(page)
    await page.goto('/environments/new')
    const name = `fail-${suffix}`
    await page.getByTestId('env-name').fill(name)
    await page.getByTestId('env-packages').fill('no-such-package-zz')
    await page.getByTestId('env-create-submit').click()
    await expect.poll(() => page.getByTestId('error').first().textContent(), { timeout: 120_000 }).toContain('Failed to create environment')
    await expect.poll(() => page.getByTestId('log').textContent(), { timeout: 60_000 }).toContain('no-such-package-zz')
    const detail = await apiCall<Detail>('GET', `/api/conda/environment/${name}`)
    expect(detail.body.status).toBe('failed')

    await page.goto(`/environments/${name}`)
    await page.locator('[data-testid="status"]', { hasText: 'failed' }).first().waitFor({ timeout: 30_000 })
    expect(await page.getByTestId('env-reset').isDisabled()).toBe(false)
    expect(await page.getByTestId('pkg-install').isDisabled()).toBe(true)
    expect(await page.getByTestId('env-last-error').textContent()).toBeTruthy()
    await page.getByTestId('env-reset').click()
    // The API rebuilds it from what the record holds; whatever it answers is what the page shows.
    const outcome = page.locator('[data-testid="error"], [data-testid="env-notice"]')
    await outcome.first().waitFor({ timeout: 150_000 })
    const after = await apiCall<Detail>('GET', `/api/conda/environment/${name}`)
    const shown = (await outcome.allTextContents()).join(' | ')
    if (after.body.status === 'ready') {
      expect(shown).toContain('Environment reset successfully')
      await page.locator('[data-testid="status"]', { hasText: 'ready' }).first().waitFor({ timeout: 30_000 })
      expect(await page.getByTestId('env-reset').isDisabled()).toBe(true)
    } else {
      expect(shown).toContain(`Failed to reset environment '${name}'`)
    }
    await page.getByTestId('env-delete').click()
    await page.getByTestId('env-delete-confirm').click()
    await page.waitForURL(/\/environments$/, { timeout: 120_000 })
    expect((await apiCall('GET', `/api/conda/environment/${name}`)).status).toBe(404)
    expectNoConsoleErrors(p)
    await p.context.close()
  })
})
