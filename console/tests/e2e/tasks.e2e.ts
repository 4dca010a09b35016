import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { apiCall, baseUrl, desktop, eventually, expectNoConsoleErrors, launch, masterKey, openPage, phone, screenshot, signIn } from './support'

// The tasks pages against the real host and runner: create through the form, the live log over SSE, the control
// buttons, the cron preview from the engine, the API's refusals, the history and the metric charts.
const env = 'tasks-e2e'
const ticker = "import time\nfor i in range(36):\n    print(f'tick {i}', flush=True)\n    time.sleep(0.5)\n"

interface Detail {
  task: { task_id: number; status: string }
  execution_history: { execution_id: string; status: string }[]
  performance_metrics: { durations: number[]; peak_memories: number[]; avg_memories: number[] } | null
}

/** POST /api/tasks as multipart with the master key. */
async function createTask(fields: Record<string, string>, script = 'print(1)\n'): Promise<{ status: number; body: { task?: { task_id: number }; message?: string; error?: string } }> {
  const form = new FormData()
  form.append('script_file', new Blob([script], { type: 'text/x-python' }), 'main.py')
  for (const [k, v] of Object.entries(fields)) form.append(k, v)
  const response = await fetch(baseUrl() + '/api/tasks', { method: 'POST', headers: { 'x-functions-key': masterKey() }, body: form })
  return { status: response.status, body: await response.json() }
}

const detailOf = async (id: number) => (await apiCall<Detail>('GET', `/api/tasks/${id}`)).body

describe('tasks pages', () => {
  let browser: Browser
  beforeAll(async () => {
    browser = await launch()
    const made = await apiCall<{ message?: string }>('POST', '/api/conda/environment', { name: env, python_version: '3.11', packages: [] })
    expect([201, 409], JSON.stringify(made.body)).toContain(made.status)
  })
  afterAll(async () => { await browser?.close() })

  it('creates a task from a pasted script, streams its live log, holds it while paused, then shows history and charts', async () => {
    const p = await openPage(browser)
    await signIn(p.page)
    await p.page.goto('/tasks/new')
    await p.page.getByTestId('task-env').locator(`option[value="${env}"]`).waitFor({ state: 'attached' })
    await p.page.getByTestId('task-env').selectOption(env)
    await p.page.getByTestId('task-name').fill('ticker-e2e')
    await p.page.getByTestId('task-script').fill(ticker)
    await screenshot(p.page, 'tasks-create')
    await p.page.getByTestId('task-submit').click()
    await p.page.waitForURL(/\/tasks\/\d+$/, { timeout: 60_000 })
    const id = Number(/\/tasks\/(\d+)$/.exec(p.page.url())![1])
    await eventually('the task detail', 30, async () => (await p.page.getByTestId('task-title').textContent()) === 'ticker-e2e')

    // The log arrives while the run goes on.
    const log = p.page.getByTestId('log')
    await eventually('the first ticks in the live log', 120, async () => /tick 2\b/.test((await log.textContent()) ?? ''))
    expect(await p.page.getByTestId('log-state').textContent()).toBe('live')
    const apiRunning = await detailOf(id)
    expect(apiRunning.execution_history.length).toBeGreaterThan(0)

    // Pausing the view holds the text back while lines keep arriving; resuming shows them.
    await p.page.getByTestId('log-pause').click()
    const heldText = (await log.textContent()) ?? ''
    await p.page.getByTestId('log-held').waitFor({ timeout: 30_000 })
    expect(await log.textContent()).toBe(heldText)
    await screenshot(p.page, 'tasks-detail')
    await p.page.getByTestId('log-pause').click()
    await eventually('the held lines shown after resume', 30, async () => ((await log.textContent()) ?? '').length > heldText.length)
    expect(await p.page.getByTestId('log-held').count()).toBe(0)

    // The run ends: the stream says so, the page stops showing it as running, the history and charts follow the API.
    await eventually('the whole log and its end', 120, async () =>
      /tick 35\b/.test((await log.textContent()) ?? '') && (await p.page.getByTestId('log-state').textContent()) === 'ended')
    const done = await eventually('the finished run in the API', 120, async () => {
      const d = await detailOf(id)
      return d.execution_history.some((e) => e.status === 'completed') && d.performance_metrics?.durations.length ? d : false
    })
    const chart = p.page.locator('[data-chart="task-durations"]')
    await eventually('the duration chart drawn from performance_metrics', 60, async () => (await chart.getAttribute('data-empty')) === 'false')
    expect(JSON.parse((await chart.getAttribute('data-points'))!)).toEqual(done.performance_metrics!.durations)
    expect(await chart.locator('canvas').count()).toBeGreaterThan(0)
    const memory = JSON.parse((await p.page.locator('[data-chart="task-memory"]').getAttribute('data-points'))!)
    expect(memory).toEqual({ peak: done.performance_metrics!.peak_memories, avg: done.performance_metrics!.avg_memories })
    const rows = p.page.getByTestId('execution-row')
    await eventually('the history rows', 30, async () => (await rows.count()) === done.execution_history.length)
    expect(await rows.first().getAttribute('data-execution-id')).toBe(done.execution_history[0].execution_id)
    expect(await rows.first().getByTestId('status').textContent()).toBe(done.execution_history[0].status)
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('pauses, resumes, runs and stops an interval task with the buttons, as the API says, then deletes it after confirmation', async () => {
    const made = await createTask({ conda_env: env, task_name: 'interval-e2e', interval_seconds: '3600' })
    expect(made.status, JSON.stringify(made.body)).toBe(201)
    const id = made.body.task!.task_id
    const p = await openPage(browser)
    await signIn(p.page)
    await p.page.goto(`/tasks/${id}`)
    const badge = p.page.getByTestId('task-status')
    await eventually('the scheduled badge', 30, async () => (await badge.textContent()) === 'scheduled')
    expect(await p.page.getByTestId('action-resume').isDisabled()).toBe(true)

    await p.page.getByTestId('action-pause').click()
    await eventually('the paused badge', 30, async () => (await badge.textContent()) === 'paused')
    expect((await detailOf(id)).task.status).toBe('paused')
    expect(await p.page.getByTestId('action-notice').textContent()).toBe('Task paused successfully')
    expect(await p.page.getByTestId('action-pause').isDisabled()).toBe(true)
    expect(await p.page.getByTestId('action-resume').isEnabled()).toBe(true)

    await p.page.getByTestId('action-resume').click()
    await eventually('the scheduled badge again', 30, async () => (await badge.textContent()) === 'scheduled')
    expect((await detailOf(id)).task.status).toBe('scheduled')
    expect(await p.page.getByTestId('action-resume').isDisabled()).toBe(true)

    // Run now: a manual execution, followed by the page until it ends; then stop takes it out of the scheduler.
    await p.page.getByTestId('action-trigger').click()
    await p.page.getByTestId('action-notice').waitFor()
    expect(await p.page.getByTestId('action-notice').textContent()).toBe('Task triggered successfully')
    const finished = await eventually('the manual run to complete', 120, async () => {
      const d = await detailOf(id)
      return d.execution_history.length === 1 && d.execution_history[0].status === 'completed' ? d : false
    })
    const row = p.page.getByTestId('execution-row').first()
    await eventually('the completed manual run on the page', 60, async () => (await row.getByTestId('status').textContent()) === 'completed')
    expect(await row.getAttribute('data-execution-id')).toBe(finished.execution_history[0].execution_id)
    await p.page.getByTestId('action-stop').click()
    await eventually('the stopped badge', 30, async () => (await badge.textContent()) === 'stopped')
    expect((await detailOf(id)).task.status).toBe('stopped')
    expect(await p.page.getByTestId('action-stop').isDisabled()).toBe(true)
    expect(await p.page.getByTestId('action-pause').isDisabled()).toBe(true)

    await p.page.getByTestId('action-delete').click()
    await p.page.getByTestId('action-delete-cancel').click()
    expect((await apiCall('GET', `/api/tasks/${id}`)).status).toBe(200)
    await p.page.getByTestId('action-delete').click()
    await p.page.getByTestId('action-delete-confirm').click()
    await p.page.waitForURL(/\/tasks$/)
    expect((await apiCall('GET', `/api/tasks/${id}`)).status).toBe(404)
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('previews the next five cron times as the engine gives them, and shows the API message for an invalid one', async () => {
    const p = await openPage(browser, desktop, [/status of 400/])
    await signIn(p.page)
    await p.page.goto('/tasks/new')
    await p.page.getByTestId('task-trigger').selectOption('cron')
    await p.page.getByTestId('task-cron').fill('0 0,12 * * *')
    const list = p.page.getByTestId('cron-preview-list')
    const shown = await eventually('the preview of 0 0,12 * * *', 30, async () => {
      const runs = await list.getAttribute('data-runs', { timeout: 1000 })
      return runs && JSON.parse(runs).length === 5 && runs.includes('T12:00:00Z') ? (JSON.parse(runs) as string[]) : false
    })
    const engine = await apiCall<{ next_runs: string[] }>('GET', '/api/tasks/cron-preview?count=5&cron=' + encodeURIComponent('0 0,12 * * *'))
    expect(shown).toEqual(engine.body.next_runs)
    expect(await p.page.getByTestId('cron-preview-item').count()).toBe(5)

    await p.page.getByTestId('task-cron').fill('61 * * * *')
    const refused = await apiCall<{ message: string }>('GET', '/api/tasks/cron-preview?cron=' + encodeURIComponent('61 * * * *'))
    expect(refused.status).toBe(400)
    const banner = p.page.getByTestId('cron-preview').getByTestId('error').locator('strong')
    await banner.waitFor({ timeout: 30_000 })
    expect(await banner.textContent()).toBe(refused.body.message)
    expect(await list.count()).toBe(0)
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('creates a cron task from an uploaded .py file in a time zone, as the API records it', async () => {
    const p = await openPage(browser)
    await signIn(p.page)
    await p.page.goto('/tasks/new')
    await p.page.getByTestId('source-file').check()
    await p.page.getByTestId('task-file').setInputFiles({ name: 'nightly.py', mimeType: 'text/x-python', buffer: Buffer.from('print("nightly")\n') })
    await p.page.getByTestId('task-env').locator(`option[value="${env}"]`).waitFor({ state: 'attached' })
    await p.page.getByTestId('task-env').selectOption(env)
    await p.page.getByTestId('task-command').fill('python nightly.py')
    await p.page.getByTestId('task-trigger').selectOption('cron')
    await p.page.getByTestId('task-cron').fill('30 2 * * *')
    await p.page.getByTestId('task-timezone').fill('Europe/Berlin')
    await p.page.getByTestId('task-retries').fill('2')
    await p.page.getByTestId('task-priority').selectOption('high')
    await eventually('the zoned preview', 30, async () => (await p.page.getByTestId('cron-preview-item').first().textContent())?.includes('Europe/Berlin'))
    await p.page.getByTestId('task-submit').click()
    await p.page.waitForURL(/\/tasks\/\d+$/, { timeout: 60_000 })
    const id = Number(/\/tasks\/(\d+)$/.exec(p.page.url())![1])
    const task = (await apiCall<{ task: Record<string, unknown> }>('GET', `/api/tasks/${id}`)).body.task
    expect(task).toMatchObject({ task_name: 'nightly', command: 'python nightly.py', cron_expression: '30 2 * * *', timezone: 'Europe/Berlin', max_retries: 2, priority: 'high', status: 'scheduled' })
    await eventually('the trigger on the detail', 30, async () => (await p.page.getByTestId('task-trigger').textContent()) === 'cron 30 2 * * * (Europe/Berlin)')
    expect(await p.page.getByTestId('log-none').textContent()).toBe('No run yet.')
    expect(await p.page.locator('[data-chart="task-durations"]').getAttribute('data-empty')).toBe('true')
    await apiCall('POST', `/api/tasks/${id}/stop`)
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('creates a task that runs in a project picked from the list, and its log shows the project code ran', async () => {
    const zip = execFileSync('python3', ['-c', [
      'import io, sys, zipfile',
      'b = io.BytesIO()',
      'z = zipfile.ZipFile(b, "w")',
      'z.writestr("main.py", "print(\'from the project\', flush=True)\\n")',
      'z.close()',
      'sys.stdout.buffer.write(b.getvalue())',
    ].join('\n')])
    const form = new FormData()
    form.append('name', 'proj-e2e')
    form.append('file', new Blob([new Uint8Array(zip)], { type: 'application/zip' }), 'proj.zip')
    const made = await fetch(baseUrl() + '/api/projects', { method: 'POST', headers: { 'x-functions-key': masterKey() }, body: form })
    expect(made.status, await made.clone().text()).toBe(201)

    const p = await openPage(browser)
    await signIn(p.page)
    await p.page.goto('/tasks/new')
    await p.page.getByTestId('source-project').check()
    await p.page.getByTestId('task-project').locator('option[value="proj-e2e"]').waitFor({ state: 'attached' })
    await p.page.getByTestId('task-project').selectOption('proj-e2e')
    await p.page.getByTestId('task-env').locator(`option[value="${env}"]`).waitFor({ state: 'attached' })
    await p.page.getByTestId('task-env').selectOption(env)
    await p.page.getByTestId('task-name').fill('project-run-e2e')
    await p.page.getByTestId('task-submit').click()
    await p.page.waitForURL(/\/tasks\/\d+$/, { timeout: 60_000 })
    const id = Number(/\/tasks\/(\d+)$/.exec(p.page.url())![1])
    expect((await apiCall<{ task: { project: string } }>('GET', `/api/tasks/${id}`)).body.task.project).toBe('proj-e2e')
    await eventually('the project code in the log', 120, async () => /from the project/.test((await p.page.getByTestId('log').textContent()) ?? ''))
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('shows the API error for bad input on create and stays on the form', async () => {
    const p = await openPage(browser, desktop, [/status of 400/])
    await signIn(p.page)
    await p.page.goto('/tasks/new')
    await p.page.getByTestId('task-env').locator(`option[value="${env}"]`).waitFor({ state: 'attached' })
    await p.page.getByTestId('task-env').selectOption(env)
    await p.page.getByTestId('task-script').fill('print(1)\n')
    await p.page.getByTestId('task-trigger').selectOption('interval')
    await p.page.getByTestId('task-interval').fill('0')
    await p.page.getByTestId('task-submit').click()
    const expected = await createTask({ conda_env: env, interval_seconds: '0' })
    expect(expected.status).toBe(400)
    const banner = p.page.getByTestId('task-form').getByTestId('error').locator('strong')
    await banner.waitFor({ timeout: 30_000 })
    expect(await banner.textContent()).toBe(expected.body.message)
    expect(p.page.url()).toMatch(/\/tasks\/new$/)

    // No environment chosen: the API's own refusal.
    await p.page.getByTestId('task-trigger').selectOption('now')
    await p.page.getByTestId('task-env').selectOption('')
    await p.page.getByTestId('task-submit').click()
    const missing = await createTask({})
    await eventually('the missing-environment message', 30, async () => (await banner.textContent()) === missing.body.message)
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('a missing task shows the API message in the page frame; the create form fits a phone', async () => {
    const p = await openPage(browser, desktop, [/status of 404/])
    await signIn(p.page)
    await p.page.goto('/tasks/987654')
    const missing = await apiCall<{ message: string }>('GET', '/api/tasks/987654')
    expect(missing.status).toBe(404)
    const banner = p.page.getByTestId('error').locator('strong')
    await banner.waitFor({ timeout: 30_000 })
    expect(await banner.textContent()).toBe(missing.body.message)
    expect(await p.page.getByTestId('task-title').textContent()).toBe('Task 987654')
    expectNoConsoleErrors(p)
    await p.context.close()

    const m = await openPage(browser, phone)
    await signIn(m.page)
    await m.page.goto('/tasks/new')
    await m.page.getByTestId('task-trigger').selectOption('cron')
    await m.page.getByTestId('cron-preview-item').first().waitFor({ timeout: 30_000 })
    const overflow = await m.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    expect(overflow).toBeLessThanOrEqual(1)
    await screenshot(m.page, 'tasks-create-phone')
    expectNoConsoleErrors(m)
    await m.context.close()
  })

  it('lists tasks a page at a time with the API total, filters by status, and works at phone width', async () => {
    const paused = await createTask({ conda_env: env, task_name: 'list-paused-e2e', interval_seconds: '3600' })
    expect(paused.status, JSON.stringify(paused.body)).toBe(201)
    await apiCall('POST', `/api/tasks/${paused.body.task!.task_id}/pause`)
    const p = await openPage(browser)
    await signIn(p.page)
    await p.page.goto('/tasks')
    const page1 = await apiCall<{ items: { task_id: number }[]; total: number }>('GET', '/api/tasks?page=1&size=50')
    const rows = p.page.getByTestId('task-row')
    await eventually('the first page of tasks', 30, async () => (await rows.count()) === page1.body.items.length)
    expect(await p.page.getByTestId('pager-status').textContent()).toContain(`${page1.body.total} in all`)
    expect(await rows.first().getAttribute('data-task-id')).toBe(String(page1.body.items[0].task_id))
    await screenshot(p.page, 'tasks-list')

    await p.page.getByTestId('tasks-status').selectOption('paused')
    const all = await apiCall<{ task_id: number; status: string }[]>('GET', '/api/tasks')
    const pausedIds = all.body.filter((t) => t.status === 'paused').map((t) => String(t.task_id))
    await eventually('only paused tasks', 30, async () => {
      const ids = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-task-id')))
      return ids.length === pausedIds.length && ids.every((i) => pausedIds.includes(i!))
    })
    await p.page.getByTestId('tasks-name').fill('list-paused')
    await eventually('the name filter', 30, async () => (await rows.count()) === 1)
    await rows.first().getByTestId('task-link').click()
    await p.page.waitForURL(new RegExp(`/tasks/${paused.body.task!.task_id}$`))
    expectNoConsoleErrors(p)
    await p.context.close()

    const m = await openPage(browser, phone)
    await signIn(m.page)
    await m.page.goto(`/tasks/${paused.body.task!.task_id}`)
    await m.page.getByTestId('action-resume').waitFor()
    const overflow = await m.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    expect(overflow).toBeLessThanOrEqual(1)
    await screenshot(m.page, 'tasks-detail-phone')
    expectNoConsoleErrors(m)
    await m.context.close()
  })
})
