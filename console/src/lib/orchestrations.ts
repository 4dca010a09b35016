// The orchestrations pages' own logic over Durable Functions' management API (/runtime/webhooks/durabletask):
// query building, which actions a status allows, the history as a timeline. Pure functions, unit-tested in
// tests/unit/orchestrations.test.ts.

export const managementBase = '/runtime/webhooks/durabletask'
export const continuationHeader = 'x-ms-continuation-token'

export const runtimeStatuses = ['Running', 'Pending', 'Suspended', 'Completed', 'Failed', 'Terminated', 'ContinuedAsNew'] as const
export type RuntimeStatus = (typeof runtimeStatuses)[number]

export interface HistoryEvent {
  EventType: string
  EventId: number
  Timestamp: string
  Name?: string
  TaskScheduledId?: number
  FireAt?: string
  Result?: unknown
  Input?: unknown
  FailureDetails?: unknown
}

export interface OrchestrationInstance {
  name: string
  instanceId: string
  runtimeStatus: string
  input: unknown
  customStatus: unknown
  output: unknown
  createdTime: string
  lastUpdatedTime: string
  historyEvents?: HistoryEvent[]
}

export interface InstanceFilter {
  instanceIdPrefix?: string
  statuses?: string[]
  /** datetime-local values (the browser's time zone) or ISO times. */
  createdFrom?: string
  createdTo?: string
  top?: number
}

/** A datetime-local value (no zone: the browser's) or an ISO time, as the ISO UTC time the API takes. */
export function toIso(value: string | undefined): string | undefined {
  if (!value) return undefined
  const d = new Date(value)
  return Number.isNaN(d.getTime()) ? value : d.toISOString()
}

/** The query of GET instances for a filter (empty parts left out). */
export function instancesQuery(f: InstanceFilter): Record<string, string | number | undefined> {
  return {
    instanceIdPrefix: f.instanceIdPrefix?.trim() || undefined,
    runtimeStatus: f.statuses && f.statuses.length > 0 ? f.statuses.join(',') : undefined,
    createdTimeFrom: toIso(f.createdFrom),
    createdTimeTo: toIso(f.createdTo),
    top: f.top ?? 50,
  }
}

/** The management API has no name filter: the name filter narrows the page the API answered. */
export function filterByName<T extends { name: string }>(items: T[], name: string): T[] {
  const n = name.trim().toLowerCase()
  return n ? items.filter((i) => (i.name ?? '').toLowerCase().includes(n)) : items
}

export interface InstanceActions {
  terminate: boolean
  raiseEvent: boolean
  suspend: boolean
  resume: boolean
  purge: boolean
}

/**
 * What the API allows for a status: terminate, raise event (and suspend) only while unfinished (410 Gone once
 * finished), suspend only a running or pending one, resume only a suspended one, purge only a finished one (409
 * while running).
 */
export function instanceActions(status: string | null | undefined): InstanceActions {
  const s = (status ?? '').toLowerCase()
  const unfinished = s === 'running' || s === 'pending' || s === 'suspended'
  const finished = s === 'completed' || s === 'failed' || s === 'terminated' || s === 'canceled' || s === 'continuedasnew'
  return {
    terminate: unfinished,
    raiseEvent: unfinished,
    suspend: s === 'running' || s === 'pending',
    resume: s === 'suspended',
    purge: finished,
  }
}

/** Pretty JSON for a value the API gave (null shown as a dash by the page). */
export function prettyJson(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'string') {
    try {
      return JSON.stringify(JSON.parse(value), null, 2)
    } catch {
      return value
    }
  }
  return JSON.stringify(value, null, 2)
}

/** Parses the raise-event body; the empty text is JSON null. Throws with a readable message when not JSON. */
export function parseEventBody(text: string): unknown {
  if (text.trim() === '') return null
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new Error(`The event body is not JSON: ${(e as Error).message}`)
  }
}

export interface TimelineEntry {
  index: number
  type: string
  name: string
  timestamp: string
  time: number
  /** Milliseconds since the first event. */
  offset: number
  /** Position on the bar, 0-100 (%). */
  position: number
  kind: 'start' | 'end' | 'task' | 'timer' | 'event' | 'failure' | 'other'
  detail: string
  /** The event's result, failure details and input as pretty JSON ('' when none). */
  data: string
}

function kindOf(type: string): TimelineEntry['kind'] {
  if (type === 'ExecutionStarted') return 'start'
  if (type === 'ExecutionCompleted' || type === 'ExecutionTerminated') return 'end'
  if (/Failed$/.test(type)) return 'failure'
  if (type.startsWith('Task') || type.startsWith('SubOrchestrationInstance')) return 'task'
  if (type.startsWith('Timer')) return 'timer'
  if (type.startsWith('Event') || type === 'ExecutionSuspended' || type === 'ExecutionResumed') return 'event'
  return 'other'
}

/**
 * The history in order (by timestamp, then as the API listed it), each with its offset from the first event and
 * its place on a bar from the first to the last event.
 */
export function timeline(events: HistoryEvent[] | undefined): TimelineEntry[] {
  if (!events || events.length === 0) return []
  const rows = events.map((e, i) => ({ e, i, t: new Date(e.Timestamp).getTime() }))
  rows.sort((a, b) => (a.t === b.t || Number.isNaN(a.t) || Number.isNaN(b.t) ? a.i - b.i : a.t - b.t))
  const first = rows.find((r) => !Number.isNaN(r.t))?.t ?? 0
  const last = rows.reduce((m, r) => (Number.isNaN(r.t) ? m : Math.max(m, r.t)), first)
  const span = last - first
  // A completion names no activity: it is the one its TaskScheduled (EventId = TaskScheduledId) named.
  const scheduled = new Map<number, string>()
  for (const e of events) if (/Scheduled$|Created$/.test(e.EventType) && e.Name && e.EventId >= 0) scheduled.set(e.EventId, e.Name)
  return rows.map(({ e, t }, index) => {
    const offset = Number.isNaN(t) ? 0 : t - first
    const parts: string[] = []
    if (e.TaskScheduledId !== undefined) parts.push(`scheduled #${e.TaskScheduledId}`)
    if (e.FireAt) parts.push(`fires ${e.FireAt}`)
    return {
      index,
      type: e.EventType,
      name: e.Name ?? (e.TaskScheduledId !== undefined ? scheduled.get(e.TaskScheduledId) ?? '' : ''),
      timestamp: e.Timestamp,
      time: t,
      offset,
      position: span > 0 ? Math.round((offset / span) * 1000) / 10 : 0,
      kind: kindOf(e.EventType),
      detail: parts.join(', '),
      data: [e.Result, e.FailureDetails, e.Input].filter((v) => v !== undefined && v !== null).map(prettyJson).join('\n'),
    }
  })
}

/** An offset in ms as "+1.234 s" (or "+2 min 3 s"). */
export function formatOffset(ms: number): string {
  if (ms < 60_000) return `+${(ms / 1000).toFixed(3)} s`
  const m = Math.floor(ms / 60_000)
  return `+${m} min ${Math.round((ms % 60_000) / 1000)} s`
}
