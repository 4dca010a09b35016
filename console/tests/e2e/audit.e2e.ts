import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { apiCall, baseUrl, desktop, eventually, expectNoConsoleErrors, launch, masterKey, openPage, phone, screenshot, signIn } from './support'

// The audit page against a real host: rows written by real environment and task operations, filtered in the page and
// compared with GET /api/audit for the same query.

interface AuditItem {
  id: string
  at: string
  operation: string
  environment: string
  client_ip: string
}

interface AuditAnswer {
  success: boolean
  count: number
  items: AuditItem[]
}

async function audit(query: Record<string, string | number>): Promise<AuditItem[]> {
  const r = await apiCall<AuditAnswer>('GET', '/api/audit?' + new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString())
  expect(r.status).toBe(200)
  return r.body.items
}

async function shownIds(page: Page): Promise<string[]> {
  return page.getByTestId('audit-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id') ?? ''))
}

/** Waits until the table shows exactly `ids` (the page has loaded the answer to its query). */
async function expectRows(page: Page, ids: string[]): Promise<void> {
  await expect.poll(() => shownIds(page), { timeout: 30_000 }).toEqual(ids)
}

describe('audit', () => {
  let browser: Browser
  let taskId = 0
  let ip = ''

  beforeAll(async () => {
    browser = await launch()
    // An environment created and deleted (create, delete), and one a task uses, paused and resumed six times: 14 rows
    // for that environment, enough for two pages of 10.
    for (const name of ['audit-gone', 'audit-env']) {
      const created = await apiCall<{ message: string }>('POST', '/api/conda/environment?wait=200', { name, python_version: '3.11', packages: [] })
      expect(created.status, created.body.message).toBe(201)
    }
    const deleted = await apiCall<{ message: string }>('DELETE', '/api/conda/environment/audit-gone')
    expect(deleted.status, deleted.body.message).toBe(200)
    const form = new FormData()
    form.set('script_file', new Blob(['print("audited")\n'], { type: 'text/x-python' }), 'audited.py')
    form.set('conda_env', 'audit-env')
    form.set('command', 'python audited.py')
    // Far from now, so no run adds rows while the test pages through them.
    form.set('cron_expression', '0 0 1 1 *')
    const response = await fetch(baseUrl() + '/api/tasks', { method: 'POST', headers: { 'x-functions-key': masterKey() }, body: form })
    const body = (await response.json()) as { task: { task_id: number }; message: string }
    expect(response.status, body.message).toBe(201)
    taskId = body.task.task_id
    for (let i = 0; i < 6; i++) {
      expect((await apiCall('POST', `/api/tasks/${taskId}/pause`)).status).toBe(200)
      expect((await apiCall('POST', `/api/tasks/${taskId}/resume`)).status).toBe(200)
    }
    const rows = await eventually('the audit rows of both environments', 60, async () => {
      const gone = await audit({ environment: 'audit-gone' })
      const env = await audit({ environment: 'audit-env' })
      return gone.length >= 2 && env.length >= 14 ? gone : undefined
    })
    ip = rows[0].client_ip
  })
  afterAll(async () => { await browser?.close() })

  it('filters by operation, environment and IP from the form, keeps them in the URL, and shows the API rows', async () => {
    const p = await openPage(browser)
    await signIn(p.page)
    await p.page.goto('/audit')
    await p.page.getByTestId('audit-row').first().waitFor()
    await p.page.getByTestId('audit-operation').fill('delete')
    await p.page.getByTestId('audit-environment').fill('audit-gone')
    await p.page.getByTestId('audit-ip').fill(ip)
    await p.page.getByTestId('audit-apply').click()
    await p.page.waitForURL((u) => u.searchParams.get('operation') === 'delete' && u.searchParams.get('environment') === 'audit-gone' && u.searchParams.get('ip') === ip)
    const expected = await audit({ operation: 'delete', environment: 'audit-gone', ip, limit: 51 })
    expect(expected.length).toBe(1)
    await expectRows(p.page, expected.map((r) => r.id))
    const row = p.page.getByTestId('audit-row').first()
    expect(await row.getByTestId('audit-op').textContent()).toBe('delete')
    expect(await row.getByTestId('audit-env').textContent()).toBe('audit-gone')
    expect(await row.getByTestId('audit-client-ip').textContent()).toBe(ip)
    expect(await row.getByTestId('audit-who').textContent()).toBe('master')
    // The details open on a real control.
    await row.getByTestId('audit-details').locator('summary').click()
    expect(await row.getByTestId('audit-details').getAttribute('open')).not.toBeNull()

    // A reload (or a shared link) keeps the filters.
    await p.page.reload()
    await expectRows(p.page, expected.map((r) => r.id))
    expect(await p.page.getByTestId('audit-operation').inputValue()).toBe('delete')
    expect(await p.page.getByTestId('audit-environment').inputValue()).toBe('audit-gone')

    // A time range from the datetime-local inputs: everything of the environment since an hour ago.
    await p.page.getByTestId('audit-clear').click()
    await p.page.waitForURL((u) => u.search === '')
    const from = new Date(Date.now() - 3600_000)
    const pad = (n: number) => String(n).padStart(2, '0')
    const local = `${from.getFullYear()}-${pad(from.getMonth() + 1)}-${pad(from.getDate())}T${pad(from.getHours())}:${pad(from.getMinutes())}`
    await p.page.getByTestId('audit-environment').fill('audit-gone')
    await p.page.getByTestId('audit-from').fill(local)
    await p.page.getByTestId('audit-apply').click()
    await p.page.waitForURL((u) => u.searchParams.has('from'))
    const sentFrom = new URL(p.page.url()).searchParams.get('from')!
    expect(new Date(sentFrom).getTime()).toBe(new Date(local).getTime())
    const inRange = await audit({ environment: 'audit-gone', from: sentFrom, limit: 51 })
    expect(inRange.map((r) => r.operation).sort()).toEqual(['create', 'delete'])
    await expectRows(p.page, inRange.map((r) => r.id))
    await screenshot(p.page, 'audit')

    // A row's operation is a link that narrows the current filters to it.
    const first = inRange[0]
    await p.page.getByTestId('audit-row').first().getByRole('link', { name: first.operation, exact: true }).click()
    await p.page.waitForURL((u) => u.searchParams.get('operation') === first.operation && u.searchParams.get('environment') === 'audit-gone' && u.searchParams.get('from') === sentFrom)
    const narrowed = await audit({ environment: 'audit-gone', from: sentFrom, operation: first.operation, limit: 51 })
    expect(narrowed.map((r) => r.id)).toEqual([first.id])
    await expectRows(p.page, narrowed.map((r) => r.id))
    expect(await p.page.getByTestId('audit-operation').inputValue()).toBe(first.operation)
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('pages back in time through the API rows, with no row skipped or shown twice', async () => {
    const p = await openPage(browser)
    await signIn(p.page)
    await p.page.goto('/audit?environment=audit-env&size=10')
    const all = await audit({ environment: 'audit-env', limit: 1000 })
    expect(all.length).toBeGreaterThanOrEqual(14)
    await expectRows(p.page, all.slice(0, 10).map((r) => r.id))
    expect(await p.page.getByTestId('audit-prev').isDisabled()).toBe(true)
    await p.page.getByTestId('audit-next').click()
    await expectRows(p.page, all.slice(10, 20).map((r) => r.id))
    expect(await p.page.getByTestId('audit-page').textContent()).toContain('Page 2')
    if (all.length <= 20) expect(await p.page.getByTestId('audit-next').isDisabled()).toBe(true)
    await p.page.getByTestId('audit-prev').click()
    await expectRows(p.page, all.slice(0, 10).map((r) => r.id))
    // Filtering by operation in the page: only the task's pauses, as the API lists them.
    await p.page.getByTestId('audit-operation').fill('task.pause')
    await p.page.getByTestId('audit-apply').click()
    await p.page.waitForURL((u) => u.searchParams.get('operation') === 'task.pause')
    const pauses = await audit({ environment: 'audit-env', operation: 'task.pause', limit: 11 })
    expect(pauses.length).toBe(6)
    await expectRows(p.page, pauses.map((r) => r.id))
    expect(await p.page.getByTestId('audit-next').isDisabled()).toBe(true)
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('shows the API message for a time range it refuses, in the page frame', async () => {
    const p = await openPage(browser, desktop, [/status of 400/])
    await signIn(p.page)
    const refused = await apiCall<{ message: string; error: string }>('GET', '/api/audit?from=yesterday')
    expect(refused.status).toBe(400)
    await p.page.goto('/audit?from=yesterday')
    await expect.poll(() => p.page.getByTestId('error').locator('strong').textContent(), { timeout: 30_000 }).toBe(refused.body.message)
    expect(await p.page.getByTestId('error').textContent()).toContain(refused.body.error)
    expect(await p.page.getByTestId('audit-from-raw').textContent()).toContain('yesterday')
    expect(await p.page.getByTestId('audit-filters').isVisible()).toBe(true)
    expect(await p.page.getByTestId('audit-row').count()).toBe(0)
    // Clearing the filter recovers.
    await p.page.getByTestId('audit-clear').click()
    await p.page.getByTestId('audit-row').first().waitFor()
    expect(await p.page.getByTestId('error').count()).toBe(0)
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('fits a phone without horizontal overflow', async () => {
    const p = await openPage(browser, phone)
    await signIn(p.page)
    await p.page.goto('/audit?environment=audit-env')
    await p.page.getByTestId('audit-row').first().waitFor()
    const width = await p.page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }))
    expect(width.scroll).toBeLessThanOrEqual(width.inner)
    await screenshot(p.page, 'audit-phone')
    expectNoConsoleErrors(p)
    await p.context.close()
  })
})
