// The audit page's own logic: its filters in the URL query, the datetime-local inputs as the ISO times
// GET /api/audit accepts, and paging. The API pages by time: newest first, `limit` rows at or before `to`. The next
// page asks for the rows at or before the last row's time, leaving out the rows already shown at that very time
// (several rows may share it), so no row is skipped or shown twice. Pure functions, tested in tests/unit/audit.test.ts.

export interface AuditItem {
  id: string
  at: string
  operation: string
  environment: string
  who: string
  client_ip: string
  inputs: string
  outcome: string
  duration_ms: number
  error: string | null
  operation_id: string | null
}

export interface AuditAnswer {
  success: boolean
  count: number
  items: AuditItem[]
}

export interface AuditFilters {
  operation: string
  environment: string
  ip: string
  operation_id: string
  /** As sent to the API: an ISO time (or whatever the URL said, for the API to judge). */
  from: string
  to: string
}

export const filterKeys = ['operation', 'environment', 'ip', 'operation_id', 'from', 'to'] as const

export const pageSizes = [10, 25, 50, 100] as const
export const defaultPageSize = 50
/** The API's upper bound for `limit`. */
export const maxLimit = 1000

/** Operations the host writes (README: environments, tasks, settings); the field also takes any other text. */
export const knownOperations = [
  'create',
  'delete',
  'add',
  'remove',
  'sync',
  'rename',
  'reset',
  'run',
  'cleanup',
  'task.create',
  'task.update',
  'task.update-script',
  'task.trigger',
  'task.pause',
  'task.resume',
  'task.stop',
  'task.delete',
  'task.run',
  'callback-secret.read',
  'callback-secret.rotate',
]

type Query = Record<string, unknown>

function text(value: unknown): string {
  if (Array.isArray(value)) return text(value[0])
  return typeof value === 'string' ? value : ''
}

export function filtersFromQuery(query: Query): AuditFilters {
  return {
    operation: text(query.operation).trim(),
    environment: text(query.environment).trim(),
    ip: text(query.ip).trim(),
    operation_id: text(query.operation_id).trim(),
    from: text(query.from).trim(),
    to: text(query.to).trim(),
  }
}

export function pageSizeFromQuery(query: Query): number {
  const n = Number(text(query.size))
  return (pageSizes as readonly number[]).includes(n) ? n : defaultPageSize
}

/** The URL query for these filters: empty ones left out, so a shared link says only what was asked. */
export function filtersToQuery(filters: AuditFilters, size: number): Record<string, string> {
  const q: Record<string, string> = {}
  for (const k of filterKeys) if (filters[k]) q[k] = filters[k]
  if (size !== defaultPageSize) q.size = String(size)
  return q
}

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** A datetime-local input's value (the browser's local time, "2026-12-01T21:45") as an ISO time in UTC; '' stays ''. */
export function localInputToIso(value: string): string {
  if (!value) return ''
  const m = /^(\d{4,6})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/.exec(value)
  if (!m) return value
  // setFullYear, not the constructor: it would read years 0-99 as 1900-1999.
  const d = new Date(2000, 0, 1)
  d.setFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]))
  d.setHours(Number(m[4]), Number(m[5]), Number(m[6] ?? 0), 0)
  return Number.isNaN(d.getTime()) ? value : d.toISOString().replace('.000Z', 'Z')
}

/** An ISO time as a datetime-local value in the browser's local time; '' when it is not a time (the API will say so). */
export function isoToLocalInput(value: string): string {
  if (!value || !/^\d{4}-\d{2}-\d{2}T/.test(value)) return ''
  const d = new Date(value)
  if (Number.isNaN(d.getTime()) || d.getFullYear() > 9999) return ''
  const seconds = d.getSeconds() ? `:${pad(d.getSeconds())}` : ''
  return `${String(d.getFullYear()).padStart(4, '0')}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}${seconds}`
}

/** Where a page starts: rows at or before `at`, except the ones already shown (`seen`, all at `at`). */
export interface Cursor {
  at: string
  seen: string[]
}

/** The query of GET /api/audit for a page: the filters, the cursor's time in place of `to`, one row more than the page. */
export function apiQuery(filters: AuditFilters, size: number, cursor: Cursor | null): Record<string, string | number> {
  const q: Record<string, string | number> = {}
  for (const k of filterKeys) if (filters[k]) q[k] = filters[k]
  if (cursor) q.to = cursor.at
  q.limit = Math.min(maxLimit, size + (cursor?.seen.length ?? 0) + 1)
  return q
}

export interface Page {
  rows: AuditItem[]
  /** Whether the API has more rows after this page. */
  more: boolean
  /** The cursor of the next page, when there is one. */
  next: Cursor | null
}

/** The page the API's answer makes, given the cursor it was asked with. */
export function pageOf(items: AuditItem[], size: number, cursor: Cursor | null): Page {
  const seen = new Set(cursor?.seen ?? [])
  const fresh = items.filter((r) => !seen.has(r.id))
  const rows = fresh.slice(0, size)
  const more = fresh.length > rows.length
  if (!more || rows.length === 0) return { rows, more: false, next: null }
  const last = rows[rows.length - 1].at
  const atLast = rows.filter((r) => r.at === last).map((r) => r.id)
  // A run of rows at one time longer than a page: what earlier pages showed at that time stays left out too.
  const carried = cursor && cursor.at === last ? cursor.seen : []
  return { rows, more, next: { at: last, seen: [...carried, ...atLast] } }
}

/** The inputs as formatted JSON when they are JSON, else as given. */
export function prettyInputs(inputs: string): string {
  try {
    return JSON.stringify(JSON.parse(inputs), null, 2)
  } catch {
    return inputs
  }
}

/** A short view of the inputs for the table row: "task_id=2, attempt=1, ..." from their top-level fields. */
export function inputsSummary(inputs: string, max = 80): string {
  let value: unknown
  try {
    value = JSON.parse(inputs)
  } catch {
    return inputs.length > max ? inputs.slice(0, max - 1) + '…' : inputs
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return ''
  const parts = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== 'object')
    .map(([k, v]) => `${k}=${String(v)}`)
  const s = parts.join(', ')
  return s.length > max ? s.slice(0, max - 1) + '…' : s
}
