import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { apiCall, baseUrl, desktop, eventually, expectNoConsoleErrors, launch, masterKey, openPage, phone, screenshot, signIn } from './support'

// The dashboard against a real host and runner: tasks that complete and one that fails, then the page's figures and
// charts compared with what GET /api/tasks/stats and GET /api/system/stats answer at the same moment.

interface TaskStats {
  total: number
  scheduled: number
  running: number
  completed: number
  failed: number
  paused: number
  stopped_count: number
  success_rate: number
  system_resources: { timestamps: string[]; memory_usage: (number | null)[]; total_memory: number; task_counts: number[] } | null
  task_success_rate: { success: number; failed: number; cancelled: number; abnormal: number }
  last_7_days: { dates: string[]; success_counts: number[]; failed_counts: number[] }
  upcoming_tasks: { task_id: number; task_name: string }[]
  recent_tasks: { task_id: number; name: string; status: string }[]
}

interface SystemStats {
  host: { source: string } | null
  runners: { source: string; alive: boolean }[]
}

const stats = async () => {
  const r = await apiCall<TaskStats>('GET', '/api/tasks/stats')
  expect(r.status).toBe(200)
  return r.body
}

/** POST /api/tasks is multipart (seed 003): a script file and the form fields. */
async function createTask(name: string, script: string, fields: Record<string, string>): Promise<number> {
  const form = new FormData()
  form.set('script_file', new Blob([script], { type: 'text/x-python' }), `${name}.py`)
  form.set('task_name', name)
  form.set('command', `python ${name}.py`)
  for (const [k, v] of Object.entries(fields)) form.set(k, v)
  const response = await fetch(baseUrl() + '/api/tasks', { method: 'POST', headers: { 'x-functions-key': masterKey() }, body: form })
  const body = (await response.json()) as { task?: { task_id: number }; message?: string; error?: string }
  expect(response.status, `${body.message} ${body.error ?? ''}`).toBe(201)
  return body.task!.task_id
}

async function chart(page: Page, name: string): Promise<{ empty: boolean; points: unknown; canvas: number; placeholder: number }> {
  const figure = page.locator(`[data-chart="${name}"]`)
  await figure.waitFor()
  return {
    empty: (await figure.getAttribute('data-empty')) === 'true',
    points: JSON.parse((await figure.getAttribute('data-points')) ?? 'null'),
    canvas: await figure.locator('canvas').count(),
    placeholder: await figure.getByTestId('chart-placeholder').count(),
  }
}

async function tileNumber(page: Page, key: string): Promise<number> {
  const text = (await page.getByTestId(`count-${key}`).getByTestId('count-value').textContent()) ?? ''
  return Number(text.replace(/[^0-9.]/g, ''))
}

describe('dashboard', () => {
  let browser: Browser
  beforeAll(async () => { browser = await launch() })
  afterAll(async () => { await browser?.close() })

  it('shows a placeholder, not an empty chart, when system_resources is null', async () => {
    const p = await openPage(browser)
    await signIn(p.page)
    // The host's real answer with system_resources as a host without monitor samples gives it (seed 003: null).
    await p.page.route('**/api/tasks/stats', async (route) => {
      const response = await route.fetch()
      const body = (await response.json()) as TaskStats
      body.system_resources = null
      await route.fulfill({ response, json: body })
    })
    await p.page.goto('/')
    await p.page.getByTestId('counts').waitFor()
    for (const name of ['memory-24h', 'tasks-24h']) {
      const c = await chart(p.page, name)
      expect(c, name).toMatchObject({ empty: true, points: null, canvas: 0, placeholder: 1 })
    }
    // The outcome pie follows the API: a placeholder exactly when no run has ended yet.
    // (Re-read while a run of another test ends in between: the page refreshes on its own.)
    await eventually('the pie follows the API', 60, async () => {
      const api = await stats()
      const pie = await chart(p.page, 'outcomes')
      const none = Object.values(api.task_success_rate).every((v) => v === 0)
      return pie.empty === none && pie.placeholder === (none ? 1 : 0) && (none || pie.canvas > 0)
    })
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('draws what GET /api/tasks/stats answers once runs have completed and failed', async () => {
    const env = await apiCall<{ success: boolean; message: string }>('POST', '/api/conda/environment?wait=200', { name: 'dash-env', python_version: '3.11', packages: [] })
    expect(env.status, env.body.message).toBe(201)
    const before = await stats()
    await createTask('dash_ok_1', 'print("one")\n', { conda_env: 'dash-env' })
    await createTask('dash_ok_2', 'print("two")\n', { conda_env: 'dash-env', delay_seconds: '1' })
    await createTask('dash_fails', 'import sys\nprint("failing")\nsys.exit(3)\n', { conda_env: 'dash-env' })
    const upcomingId = await createTask('dash_nightly', 'print("later")\n', { conda_env: 'dash-env', cron_expression: '0 0 1 1 *' })

    await eventually('the stats count the two completed runs and the failed one', 120, async () => {
      const s = await stats()
      return s.task_success_rate.success >= before.task_success_rate.success + 2 && s.task_success_rate.failed >= before.task_success_rate.failed + 1
    })

    const p = await openPage(browser)
    await signIn(p.page)
    await p.page.goto('/')
    await p.page.getByTestId('counts').waitFor()

    // The page and the API at the same moment; a refresh when a figure moved in between.
    const agreed = await eventually('the page shows the API figures', 90, async () => {
      const api = await stats()
      const pie = await chart(p.page, 'outcomes')
      const days = await chart(p.page, 'last-7-days')
      const counts: Record<string, number> = {}
      for (const key of ['total', 'scheduled', 'running', 'completed', 'failed', 'paused', 'stopped_count', 'success_rate']) counts[key] = await tileNumber(p.page, key)
      const expected = Object.fromEntries(Object.keys(counts).map((k) => [k, Number((api as unknown as Record<string, number>)[k])]))
      const upcoming = await p.page.getByTestId('upcoming-row').getByRole('link').evaluateAll((links) => links.map((a) => [a.textContent, a.getAttribute('href')]))
      const recent = await p.page.getByTestId('recent-row').getByRole('link').evaluateAll((links) => links.map((a) => [a.textContent, a.getAttribute('href')]))
      const same =
        JSON.stringify(pie.points) === JSON.stringify(api.task_success_rate) &&
        JSON.stringify(days.points) === JSON.stringify(api.last_7_days) &&
        JSON.stringify(counts) === JSON.stringify(expected) &&
        JSON.stringify(upcoming) === JSON.stringify(api.upcoming_tasks.map((t) => [t.task_name, `/tasks/${t.task_id}`])) &&
        JSON.stringify(recent) === JSON.stringify(api.recent_tasks.map((t) => [t.name, `/tasks/${t.task_id}`]))
      if (same) return { api, pie, days, counts, upcoming, recent }
      await p.page.getByTestId('refresh').click()
      await p.page.getByTestId('refresh').getByText('Refresh', { exact: true }).waitFor()
      return false
    })
    expect(agreed.pie.points).toEqual(agreed.api.task_success_rate)
    expect(agreed.days.points).toEqual(agreed.api.last_7_days)
    expect(agreed.api.task_success_rate.success).toBeGreaterThanOrEqual(2)
    expect(agreed.api.task_success_rate.failed).toBeGreaterThanOrEqual(1)
    expect(agreed.api.total).toBeGreaterThanOrEqual(4)
    // Charts with data are drawn on canvases, not as placeholders.
    expect(agreed.pie).toMatchObject({ empty: false, placeholder: 0 })
    expect(agreed.pie.canvas).toBeGreaterThan(0)
    expect(agreed.days).toMatchObject({ empty: false, placeholder: 0 })
    expect(agreed.days.canvas).toBeGreaterThan(0)

    // The 24-hour lines: drawn with the API's values, or the placeholder while system_resources is null.
    const api = agreed.api
    const memory = await chart(p.page, 'memory-24h')
    const runs = await chart(p.page, 'tasks-24h')
    if (api.system_resources === null) {
      expect(memory).toMatchObject({ empty: true, canvas: 0, placeholder: 1 })
      expect(runs).toMatchObject({ empty: true, canvas: 0, placeholder: 1 })
    } else {
      expect(runs.empty).toBe(false)
      expect(runs.canvas).toBeGreaterThan(0)
      const hasMemory = api.system_resources.memory_usage.some((v) => v !== null)
      expect(memory.empty).toBe(!hasMemory)
      expect(memory.canvas > 0).toBe(hasMemory)
    }
    // Lists: the upcoming and recent tasks are the API's, each linking to its task (the cron task among them when
    // no other task is due sooner: the API lists ten).
    expect(agreed.upcoming.length).toBe(api.upcoming_tasks.length)
    expect(agreed.recent.length).toBe(api.recent_tasks.length)
    expect(agreed.recent.length).toBeGreaterThan(0)
    if (api.upcoming_tasks.some((t) => t.task_id === upcomingId)) expect(agreed.upcoming).toContainEqual(['dash_nightly', `/tasks/${upcomingId}`])

    // The system monitor: one card per source, the host and every runner the API lists.
    const system = await apiCall<SystemStats>('GET', '/api/system/stats')
    expect(system.status).toBe(200)
    const sources = [system.body.host?.source, ...system.body.runners.map((r) => r.source)].filter(Boolean)
    await expect.poll(() => p.page.locator('[data-testid^="source-"][data-source]').evaluateAll((els) => els.map((e) => e.getAttribute('data-source')))).toEqual(sources)
    expect(system.body.runners.some((r) => r.alive)).toBe(true)
    await chart(p.page, 'system-cpu')
    await chart(p.page, 'system-memory')
    await p.page.getByTestId('updated-at').getByText(/Updated/).waitFor()
    await screenshot(p.page, 'dashboard')
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('refreshes on its own, and fits a phone without horizontal overflow', async () => {
    const p = await openPage(browser, phone)
    await signIn(p.page)
    let calls = 0
    p.page.on('request', (r) => { if (r.url().includes('/api/tasks/stats')) calls++ })
    await p.page.goto('/')
    await p.page.getByTestId('counts').waitFor()
    await chart(p.page, 'outcomes')
    // The automatic refresh (every 12 s while the tab is visible) asks again without a click.
    await expect.poll(() => calls, { timeout: 40_000, interval: 500 }).toBeGreaterThanOrEqual(2)
    const width = await p.page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }))
    expect(width.scroll).toBeLessThanOrEqual(width.inner)
    await screenshot(p.page, 'dashboard-phone')
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('keeps its frame and shows the API message when the system monitor refuses a range', async () => {
    const p = await openPage(browser, desktop, [/status of 400/])
    await signIn(p.page)
    // A link with a range the page does not offer is read as the default range; a bad range typed straight to the
    // API is refused with its message, which the monitor shows in its place.
    const refused = await apiCall<{ message: string }>('GET', '/api/system/stats?range=2h')
    expect(refused.status).toBe(400)
    await p.page.route('**/api/system/stats?*', (route) => route.continue({ url: route.request().url().replace(/range=[^&]*/, 'range=2h') }))
    await p.page.goto('/')
    await p.page.getByTestId('counts').waitFor()
    await expect.poll(() => p.page.getByTestId('error').locator('strong').textContent()).toBe(refused.body.message)
    expect(await p.page.getByRole('heading', { name: 'System monitor' }).isVisible()).toBe(true)
    expectNoConsoleErrors(p)
    await p.context.close()
  })
})
