import { formatTime } from './format'

// The tasks pages' own logic, kept pure so it is unit-tested without a browser (tests/unit/tasks.test.ts).

/** One row of GET /api/tasks (paged: {items, page, size, total}; unpaged: the array). */
export interface TaskListItem {
  task_id: number
  task_name: string
  status: string
  conda_env: string
  created_at: string
  cron_expression: string | null
  next_run_time_formatted: string | null
  last_run_time_formatted: string | null
  last_run_duration_formatted: number | null
  completed_at: string | null
  priority: string
  trigger_type: string
  project?: string | null
}

export interface TaskPage {
  items: TaskListItem[]
  page: number
  size: number
  total: number
}

/** The task object of GET /api/tasks/{id}. */
export interface TaskView {
  task_id: number
  task_name: string
  script_path: string
  conda_env: string
  status: string
  created_at: string
  updated_at: string
  cron_expression: string | null
  next_run_time: string | null
  last_run_time: string | null
  last_run_duration: number | null
  requirements: string | null
  command: string
  priority: string
  namespace: string
  trigger_type: string
  delay_seconds: number | null
  interval_seconds: number | null
  run_at: string | null
  timezone: string | null
  max_retries: number
  retry_interval_seconds: number
  retry_backoff: boolean
  timeout_seconds: number | null
  overlap: string
  callback_url: string | null
  last_execution_id: string | null
  project?: string | null
}

export interface ExecutionView {
  execution_id: string
  attempt: number
  trigger: string
  start_time: string | null
  end_time: string | null
  status: string
  duration: number | null
  peak_memory: number | null
  avg_memory: number | null
  cpu_seconds: number | null
  exit_code: number | null
  error: string | null
  callback: { status: string; attempts: number; error: string | null; last_attempt_at: string | null } | null
  logs: string | null
}

export interface PerformanceMetrics {
  durations: number[]
  timestamps: string[]
  peak_memories: number[]
  avg_memories: number[]
}

export interface TaskDetail {
  success: boolean
  task: TaskView
  execution_history: ExecutionView[]
  performance_metrics: PerformanceMetrics | null
  latest_execution: ExecutionView | null
}

export type TaskAction = 'trigger' | 'pause' | 'resume' | 'stop' | 'delete'

/**
 * Which control calls the API accepts for a task in this status (functions/TaskFunctions.Control.cs):
 * trigger is refused while a run is going unless overlap is 'allow'; stop is refused only when already stopped;
 * pause needs 'scheduled' or 'running'; resume needs 'paused'; delete is refused while a run is going.
 * `running` is whether a run is in progress (the task's status, or an execution still queued or running).
 */
export function allowedActions(status: string, overlap = 'skip', running = status === 'running'): Record<TaskAction, boolean> {
  return {
    trigger: overlap === 'allow' || !running,
    pause: status === 'scheduled' || status === 'running',
    resume: status === 'paused',
    stop: status !== 'stopped',
    delete: !running,
  }
}

/** Execution statuses that have not ended yet. */
export const liveExecutionStatuses = ['queued', 'running']

export function isLiveExecution(status: string | null | undefined): boolean {
  return status !== null && status !== undefined && liveExecutionStatuses.includes(status)
}

/** Whether a detail shows something in progress, so the page keeps polling. */
export function isBusy(detail: Pick<TaskDetail, 'task' | 'execution_history'> | null): boolean {
  if (!detail) return false
  return detail.task.status === 'running' || detail.execution_history.some((e) => isLiveExecution(e.status))
}

/** The detail page polls while something runs, or until `until` (just after an action), and never while hidden. */
export function shouldPoll(busy: boolean, now: number, until: number, hidden: boolean): boolean {
  return !hidden && (busy || now < until)
}

/** The execution whose log the page shows: the running one (newest first), else the latest. */
export function logExecution(history: ExecutionView[]): ExecutionView | null {
  return history.find((e) => e.status === 'running') ?? history.find((e) => isLiveExecution(e.status)) ?? history[0] ?? null
}

/** The SSE address of an execution's log. */
export function logStreamUrl(taskId: number | string, executionId: string): string {
  return `/api/tasks/${encodeURIComponent(String(taskId))}/executions/${encodeURIComponent(executionId)}/logs?stream=true`
}

/** The chart series of performance_metrics: null (placeholder) when the API gave none or no run finished. */
export function metricSeries(metrics: PerformanceMetrics | null | undefined): {
  labels: string[]
  durations: number[]
  peak: number[]
  avg: number[]
} | null {
  if (!metrics || !Array.isArray(metrics.durations) || metrics.durations.length === 0) return null
  return {
    labels: metrics.timestamps ?? [],
    durations: metrics.durations,
    peak: metrics.peak_memories ?? [],
    avg: metrics.avg_memories ?? [],
  }
}

/** A one-page slice of a list (the list page pages a filtered full listing itself). */
export function pageOf<T>(items: T[], page: number, size: number): T[] {
  const start = (Math.max(1, page) - 1) * size
  return items.slice(start, start + size)
}

/** The list filter: a status (empty = any) and a case-insensitive part of the name. */
export function filterTasks(items: TaskListItem[], status: string, name: string): TaskListItem[] {
  const needle = name.trim().toLowerCase()
  return items.filter((t) => (!status || t.status === status) && (!needle || t.task_name.toLowerCase().includes(needle)))
}

/** The next run as shown: only a task still in the scheduler has one (a finished one-shot keeps its old due time). */
export function nextRun(status: string, value: string | null | undefined): string {
  if (!value || !['scheduled', 'running', 'paused'].includes(status)) return '–'
  return status === 'paused' ? `${formatTime(value)} (paused)` : formatTime(value)
}

export function triggerLabel(t: Pick<TaskListItem, 'trigger_type' | 'cron_expression'>): string {
  return t.trigger_type === 'cron' && t.cron_expression ? `cron ${t.cron_expression}` : t.trigger_type
}

export type TriggerType = 'now' | 'cron' | 'interval' | 'date' | 'delay'
export type SourceKind = 'paste' | 'file' | 'project'

export interface CreateForm {
  source: SourceKind
  script: string
  scriptName: string
  file: File | null
  project: string
  taskName: string
  condaEnv: string
  command: string
  requirements: string
  reuseEnv: '' | 'true' | 'false'
  trigger: TriggerType
  cron: string
  timezone: string
  intervalSeconds: string
  runAt: string
  delaySeconds: string
  maxRetries: string
  retryIntervalSeconds: string
  retryBackoff: boolean
  timeoutSeconds: string
  priority: string
  overlap: string
  callbackUrl: string
}

export function emptyForm(): CreateForm {
  return {
    source: 'paste', script: '', scriptName: 'main.py', file: null, project: '', taskName: '', condaEnv: '', command: '',
    requirements: '', reuseEnv: '', trigger: 'now', cron: '', timezone: '', intervalSeconds: '', runAt: '', delaySeconds: '',
    maxRetries: '', retryIntervalSeconds: '', retryBackoff: false, timeoutSeconds: '', priority: '', overlap: '', callbackUrl: '',
  }
}

/**
 * The multipart fields of POST /api/tasks for the form, as [name, value] pairs (the file part is added by the
 * caller). Empty fields are left out so the API applies its defaults; nothing is validated here: the API refuses.
 */
export function createFields(f: CreateForm): [string, string][] {
  const out: [string, string][] = []
  const add = (name: string, value: string) => {
    if (value.trim() !== '') out.push([name, value.trim()])
  }
  if (f.source === 'project') add('project', f.project)
  add('task_name', f.taskName)
  add('conda_env', f.condaEnv)
  add('command', f.command)
  add('requirements_file', f.requirements)
  add('reuse_env', f.reuseEnv)
  switch (f.trigger) {
    case 'cron':
      add('cron_expression', f.cron)
      add('timezone', f.timezone)
      break
    case 'interval':
      add('interval_seconds', f.intervalSeconds)
      break
    case 'date':
      add('run_at', f.runAt)
      add('timezone', f.timezone)
      break
    case 'delay':
      add('delay_seconds', f.delaySeconds)
      break
  }
  add('max_retries', f.maxRetries)
  add('retry_interval_seconds', f.retryIntervalSeconds)
  if (f.retryBackoff) out.push(['retry_backoff', 'true'])
  add('timeout_seconds', f.timeoutSeconds)
  add('priority', f.priority)
  add('overlap', f.overlap)
  add('callback_url', f.callbackUrl)
  return out
}

/** The address of the cron preview, or null when there is nothing to preview. */
export function cronPreviewUrl(cron: string, timezone: string, count = 5): string | null {
  if (cron.trim() === '') return null
  const q = new URLSearchParams({ cron: cron.trim(), count: String(count) })
  if (timezone.trim() !== '') q.set('timezone', timezone.trim())
  return `/api/tasks/cron-preview?${q.toString()}`
}

/** Runs `fn` once `ms` after the last call; `cancel` drops a pending call. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): { call: (...args: A) => void; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | null = null
  return {
    call: (...args: A) => {
      if (timer) clearTimeout(timer)
      timer = setTimeout(() => {
        timer = null
        fn(...args)
      }, ms)
    },
    cancel: () => {
      if (timer) clearTimeout(timer)
      timer = null
    },
  }
}
