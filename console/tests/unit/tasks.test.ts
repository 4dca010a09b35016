import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  allowedActions, createFields, cronPreviewUrl, debounce, emptyForm, filterTasks, isBusy, logExecution, logStreamUrl, metricSeries, nextRun, pageOf, shouldPoll,
  triggerLabel, type ExecutionView, type TaskListItem,
} from '../../src/lib/tasks'

function exec(id: string, status: string): ExecutionView {
  return {
    execution_id: id, attempt: 1, trigger: 'manual', start_time: null, end_time: null, status, duration: null, peak_memory: null,
    avg_memory: null, cpu_seconds: null, exit_code: null, error: null, callback: null, logs: null,
  }
}

function item(id: number, name: string, status: string): TaskListItem {
  return {
    task_id: id, task_name: name, status, conda_env: 'e', created_at: '', cron_expression: null, next_run_time_formatted: null,
    last_run_time_formatted: null, last_run_duration_formatted: null, completed_at: null, priority: 'normal', trigger_type: 'now',
  }
}

describe('allowedActions (TaskFunctions.Control.cs)', () => {
  it('a scheduled task can be run, paused, stopped and deleted, not resumed', () => {
    expect(allowedActions('scheduled')).toEqual({ trigger: true, pause: true, resume: false, stop: true, delete: true })
  })
  it('a running task can be paused and stopped; trigger and delete are refused while it runs', () => {
    expect(allowedActions('running')).toEqual({ trigger: false, pause: true, resume: false, stop: true, delete: false })
  })
  it('overlap allow lets a running task be triggered again', () => {
    expect(allowedActions('running', 'allow').trigger).toBe(true)
  })
  it('a paused task resumes; pause is refused', () => {
    expect(allowedActions('paused')).toEqual({ trigger: true, pause: false, resume: true, stop: true, delete: true })
  })
  it('a paused task with its process held is still running: no trigger, no delete', () => {
    expect(allowedActions('paused', 'skip', true)).toEqual({ trigger: false, pause: false, resume: true, stop: true, delete: false })
  })
  it('a stopped task cannot be stopped again, paused or resumed', () => {
    expect(allowedActions('stopped')).toEqual({ trigger: true, pause: false, resume: false, stop: false, delete: true })
  })
  it('completed and failed one-shot tasks can be run again, stopped and deleted', () => {
    for (const s of ['completed', 'failed']) expect(allowedActions(s)).toEqual({ trigger: true, pause: false, resume: false, stop: true, delete: true })
  })
})

describe('executions', () => {
  it('the log shown is the running execution, else a queued one, else the newest', () => {
    expect(logExecution([exec('3', 'queued'), exec('2', 'running'), exec('1', 'completed')])?.execution_id).toBe('2')
    expect(logExecution([exec('3', 'queued'), exec('1', 'completed')])?.execution_id).toBe('3')
    expect(logExecution([exec('2', 'failed'), exec('1', 'completed')])?.execution_id).toBe('2')
    expect(logExecution([])).toBeNull()
  })
  it('busy while the task runs or an execution is queued or running', () => {
    const task = { status: 'scheduled' } as never
    expect(isBusy({ task, execution_history: [exec('1', 'completed')] })).toBe(false)
    expect(isBusy({ task, execution_history: [exec('1', 'queued')] })).toBe(true)
    expect(isBusy({ task: { status: 'running' } as never, execution_history: [] })).toBe(true)
    expect(isBusy(null)).toBe(false)
  })
  it('polls while busy or just after an action, never while hidden', () => {
    expect(shouldPoll(true, 100, 0, false)).toBe(true)
    expect(shouldPoll(false, 100, 200, false)).toBe(true)
    expect(shouldPoll(false, 300, 200, false)).toBe(false)
    expect(shouldPoll(true, 100, 200, true)).toBe(false)
  })
  it('the log stream address escapes its parts', () => {
    expect(logStreamUrl(7, 'a/b')).toBe('/api/tasks/7/executions/a%2Fb/logs?stream=true')
  })
})

describe('metricSeries', () => {
  it('is null (a placeholder) for null or no finished runs', () => {
    expect(metricSeries(null)).toBeNull()
    expect(metricSeries({ durations: [], timestamps: [], peak_memories: [], avg_memories: [] })).toBeNull()
  })
  it('maps performance_metrics to the plotted series unchanged', () => {
    const m = { durations: [1.5, 2], timestamps: ['t1', 't2'], peak_memories: [10, 12], avg_memories: [8, 9] }
    expect(metricSeries(m)).toEqual({ labels: ['t1', 't2'], durations: [1.5, 2], peak: [10, 12], avg: [8, 9] })
  })
})

describe('list', () => {
  const items = [item(1, 'Alpha', 'scheduled'), item(2, 'beta', 'paused'), item(3, 'alphabet', 'paused')]
  it('filters by status and a case-insensitive part of the name', () => {
    expect(filterTasks(items, '', '').map((t) => t.task_id)).toEqual([1, 2, 3])
    expect(filterTasks(items, 'paused', '').map((t) => t.task_id)).toEqual([2, 3])
    expect(filterTasks(items, '', ' ALPHA ').map((t) => t.task_id)).toEqual([1, 3])
    expect(filterTasks(items, 'paused', 'alpha').map((t) => t.task_id)).toEqual([3])
  })
  it('pages a list from page 1', () => {
    expect(pageOf([1, 2, 3, 4, 5], 2, 2)).toEqual([3, 4])
    expect(pageOf([1, 2, 3], 0, 2)).toEqual([1, 2])
    expect(pageOf([1, 2, 3], 3, 2)).toEqual([])
  })
  it('shows a next run only for a task still in the scheduler', () => {
    expect(nextRun('completed', '2030-01-01T10:00:00Z')).toBe('–')
    expect(nextRun('stopped', '2030-01-01T10:00:00Z')).toBe('–')
    expect(nextRun('scheduled', null)).toBe('–')
    expect(nextRun('scheduled', '2030-01-01T10:00:00Z')).toBe(new Date('2030-01-01T10:00:00Z').toLocaleString())
    expect(nextRun('paused', '2030-01-01T10:00:00Z')).toContain('(paused)')
  })
  it('labels a cron trigger with its expression', () => {
    expect(triggerLabel({ trigger_type: 'cron', cron_expression: '*/5 * * * *' })).toBe('cron */5 * * * *')
    expect(triggerLabel({ trigger_type: 'interval', cron_expression: null })).toBe('interval')
  })
})

describe('createFields', () => {
  it('sends only the filled fields, trimmed, and only the chosen trigger', () => {
    const f = { ...emptyForm(), condaEnv: ' py311 ', trigger: 'cron' as const, cron: '*/5 * * * *', timezone: 'Europe/Berlin', intervalSeconds: '60', maxRetries: '2' }
    expect(createFields(f)).toEqual([
      ['conda_env', 'py311'], ['cron_expression', '*/5 * * * *'], ['timezone', 'Europe/Berlin'], ['max_retries', '2'],
    ])
  })
  it('interval, delay and date triggers send their own field; date keeps the zone', () => {
    const base = { ...emptyForm(), condaEnv: 'e', cron: '* * * * *', timezone: 'UTC' }
    expect(createFields({ ...base, trigger: 'interval', intervalSeconds: '30' })).toEqual([['conda_env', 'e'], ['interval_seconds', '30']])
    expect(createFields({ ...base, trigger: 'delay', delaySeconds: '0' })).toEqual([['conda_env', 'e'], ['delay_seconds', '0']])
    expect(createFields({ ...base, trigger: 'date', runAt: '2030-01-01T10:00' })).toEqual([['conda_env', 'e'], ['run_at', '2030-01-01T10:00'], ['timezone', 'UTC']])
    expect(createFields({ ...base, trigger: 'now' })).toEqual([['conda_env', 'e']])
  })
  it('a project source sends the project; backoff, priority, overlap and callback when set', () => {
    const f = { ...emptyForm(), source: 'project' as const, project: 'p1', condaEnv: 'e', retryBackoff: true, priority: 'high', overlap: 'queue', callbackUrl: 'https://x.example/cb' }
    expect(createFields(f)).toEqual([
      ['project', 'p1'], ['conda_env', 'e'], ['retry_backoff', 'true'], ['priority', 'high'], ['overlap', 'queue'], ['callback_url', 'https://x.example/cb'],
    ])
  })
  it('a pasted or uploaded script does not send a project', () => {
    expect(createFields({ ...emptyForm(), project: 'p1' })).toEqual([])
  })
})

describe('cron preview', () => {
  afterEach(() => vi.useRealTimers())
  it('asks the engine with the expression, count and zone; nothing for an empty expression', () => {
    expect(cronPreviewUrl('  ', '')).toBeNull()
    expect(cronPreviewUrl(' */5 * * * * ', '')).toBe('/api/tasks/cron-preview?cron=*%2F5+*+*+*+*&count=5')
    expect(cronPreviewUrl('0 9 * * *', 'Europe/Berlin', 3)).toBe('/api/tasks/cron-preview?cron=0+9+*+*+*&count=3&timezone=Europe%2FBerlin')
  })
  it('debounce calls once with the last arguments after the pause; cancel drops it', () => {
    vi.useFakeTimers()
    const seen: string[] = []
    const d = debounce((s: string) => seen.push(s), 300)
    d.call('a')
    d.call('ab')
    vi.advanceTimersByTime(299)
    expect(seen).toEqual([])
    vi.advanceTimersByTime(1)
    expect(seen).toEqual(['ab'])
    d.call('abc')
    d.cancel()
    vi.advanceTimersByTime(1000)
    expect(seen).toEqual(['ab'])
  })
})
