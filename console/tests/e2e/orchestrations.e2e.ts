import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { apiCall, baseUrl, desktop, eventually, expectNoConsoleErrors, launch, masterKey, openPage, screenshot, signIn } from './support'

// The orchestrations pages over the durable management API. A task with an hourly interval trigger has an eternal
// Schedule orchestration (schedule-{task_id}) waiting on its timer: a reliable running instance to terminate.
interface Instance { name: string; instanceId: string; runtimeStatus: string; output: unknown; historyEvents?: { EventType: string }[] }

const suffix = randomBytes(3).toString('hex')
const envName = `orch-${suffix}`
const mgmt = '/runtime/webhooks/durabletask/instances'

async function createTask(): Promise<number> {
  const form = new FormData()
  form.set('script_file', new Blob(['print("tick")\n'], { type: 'text/x-python' }), 'main.py')
  form.set('task_name', `orch-task-${suffix}`)
  form.set('conda_env', envName)
  form.set('interval_seconds', '3600')
  const r = await fetch(baseUrl() + '/api/tasks', { method: 'POST', headers: { 'x-functions-key': masterKey() }, body: form })
  const body = (await r.json()) as Record<string, unknown>
  expect(r.status, JSON.stringify(body)).toBe(201)
  const task = (body.task ?? body.data ?? body) as Record<string, unknown>
  const id = Number(task.id ?? task.task_id)
  expect(Number.isFinite(id), JSON.stringify(body)).toBe(true)
  return id
}

describe('orchestrations pages', () => {
  let browser: Browser
  let scheduleId = ''
  let buildId = ''
  beforeAll(async () => {
    browser = await launch()
    const created = await apiCall('POST', '/api/conda/environment', { name: envName, packages: [] })
    expect(created.status).toBe(201)
    const env = await apiCall<{ last_operation_id: string }>('GET', `/api/conda/environment/${envName}`)
    buildId = env.body.last_operation_id
    const taskId = await createTask()
    scheduleId = `schedule-${taskId}`
    await eventually('the schedule runs', 120, async () => (await apiCall<Instance>('GET', `${mgmt}/${scheduleId}`)).body.runtimeStatus === 'Running')
  })
  afterAll(async () => { await browser?.close() })

  it('finds a running schedule by filter, shows its history as a timeline and terminates it with a reason', async () => {
    const p = await openPage(browser)
    const { page } = p
    await signIn(page)
    await page.goto('/orchestrations')
    await page.getByTestId('orch-row').first().waitFor({ timeout: 30_000 })
    await page.getByTestId('orch-prefix').fill(scheduleId)
    await page.getByTestId('orch-status-Running').check()
    await page.getByTestId('orch-search').click()
    const row = page.locator(`[data-testid="orch-row"][data-id="${scheduleId}"]`)
    await row.waitFor({ timeout: 30_000 })
    expect(await row.getAttribute('data-status')).toBe('Running')
    // The list is what the API answers for the same filter.
    const listed = await apiCall<Instance[]>('GET', `${mgmt}?instanceIdPrefix=${scheduleId}&runtimeStatus=Running&top=50`)
    expect(await page.getByTestId('orch-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')))).toEqual(listed.body.map((i) => i.instanceId))
    // A status it is not in hides it.
    await page.getByTestId('orch-status-Running').uncheck()
    await page.getByTestId('orch-status-Completed').check()
    await page.getByTestId('orch-search').click()
    await page.getByTestId('orch-empty').waitFor({ timeout: 30_000 })
    await page.getByTestId('orch-status-Completed').uncheck()
    await page.getByTestId('orch-search').click()
    await row.waitFor({ timeout: 30_000 })
    await screenshot(page, 'orchestrations-list')

    await row.getByRole('link').click()
    await page.waitForURL(new RegExp(`/orchestrations/${scheduleId}$`))
    await page.locator('[data-testid="orch-status"][data-status="Running"]').waitFor({ timeout: 30_000 })
    const detail = await apiCall<Instance>('GET', `${mgmt}/${scheduleId}?showHistory=true&showHistoryOutput=true`)
    expect(await page.getByTestId('orch-name-value').textContent()).toBe(detail.body.name)
    const types = await page.getByTestId('orch-event').evaluateAll((els) => els.map((e) => e.getAttribute('data-type')))
    expect(types.length).toBeGreaterThan(0)
    expect(types[0]).toBe('ExecutionStarted')
    expect([...types].sort()).toEqual(detail.body.historyEvents!.map((e) => e.EventType).sort())
    expect(await page.getByTestId('orch-input').textContent()).toContain('"')
    expect(await page.getByTestId('orch-purge').isDisabled()).toBe(true)
    expect(await page.getByTestId('orch-resume').isDisabled()).toBe(true)
    await screenshot(page, 'orchestrations-detail')

    // Raise an event (the schedule takes it as a wake-up), suspend and resume.
    await page.getByTestId('orch-event-name').fill('ConsolePing')
    await page.getByTestId('orch-event-body').fill('{"from": "console"}')
    await page.getByTestId('orch-raise').click()
    await expect.poll(() => page.getByTestId('orch-notice').textContent(), { timeout: 30_000 }).toContain("Event 'ConsolePing' raised.")
    await page.getByTestId('orch-suspend').click()
    await page.locator('[data-testid="orch-status"][data-status="Suspended"]').waitFor({ timeout: 60_000 })
    expect((await apiCall<Instance>('GET', `${mgmt}/${scheduleId}`)).body.runtimeStatus).toBe('Suspended')
    expect(await page.getByTestId('orch-suspend').isDisabled()).toBe(true)
    await page.getByTestId('orch-resume').click()
    await page.locator('[data-testid="orch-status"][data-status="Running"]').waitFor({ timeout: 60_000 })

    const reason = `stopped from the console ${suffix}`
    await page.getByTestId('orch-terminate-reason').fill(reason)
    await page.getByTestId('orch-terminate').click()
    await page.locator('[data-testid="orch-status"][data-status="Terminated"]').waitFor({ timeout: 60_000 })
    const after = await apiCall<Instance>('GET', `${mgmt}/${scheduleId}`)
    expect(after.body.runtimeStatus).toBe('Terminated')
    expect(JSON.stringify(after.body.output)).toContain(reason)
    expect(await page.getByTestId('orch-terminate').isDisabled()).toBe(true)
    expect(await page.getByTestId('orch-purge').isDisabled()).toBe(false)
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('purges a completed instance after confirmation', async () => {
    const before = await apiCall<Instance>('GET', `${mgmt}/${buildId}`)
    expect(before.body.runtimeStatus).toBe('Completed')
    const p = await openPage(browser)
    const { page } = p
    await signIn(page)
    await page.goto(`/orchestrations/${buildId}`)
    await page.locator('[data-testid="orch-status"][data-status="Completed"]').waitFor({ timeout: 30_000 })
    expect(await page.getByTestId('orch-terminate').isDisabled()).toBe(true)
    expect(await page.getByTestId('orch-timeline').textContent()).toContain('ExecutionCompleted')
    await page.getByTestId('orch-purge').click()
    await page.getByTestId('orch-purge-confirm').click()
    await expect.poll(() => page.getByTestId('orch-notice').textContent(), { timeout: 30_000 }).toContain('purged')
    expect((await apiCall('GET', `${mgmt}/${buildId}`)).status).toBe(404)
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('shows the API refusal to a user key, and the API message for an unknown instance', async () => {
    const key = await apiCall<{ key: { value: string } }>('POST', '/api/keys', { name: `viewer-${suffix}`, role: 'user', namespace: `ns-${suffix}` })
    expect(key.status).toBe(201)
    const refusal = await fetch(baseUrl() + mgmt, { headers: { 'x-functions-key': key.body.key.value } })
    const refusalBody = (await refusal.json()) as { message: string }
    expect(refusal.status).toBe(403)
    const p = await openPage(browser, desktop, [/status of 40[34]/])
    await signIn(p.page, key.body.key.value)
    await p.page.goto('/orchestrations')
    await expect.poll(() => p.page.getByTestId('error').textContent(), { timeout: 30_000 }).toContain(refusalBody.message)
    await p.context.close()

    const q = await openPage(browser, desktop, [/status of 404/])
    await signIn(q.page)
    const missing = await apiCall<{ message: string }>('GET', `${mgmt}/no-such-instance`)
    await q.page.goto('/orchestrations/no-such-instance')
    await expect.poll(() => q.page.getByTestId('error').first().textContent(), { timeout: 30_000 }).toContain(missing.body.message)
    expectNoConsoleErrors(p)
    expectNoConsoleErrors(q)
    await q.context.close()
  })
})
