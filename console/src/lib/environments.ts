// The environments pages' own logic (seed 000, /api/conda): NDJSON splitting, package spec lists, which actions
// a status allows. Pure functions, unit-tested in tests/unit/environments.test.ts.

export interface EnvironmentItem {
  name: string
  python_version: string
  created_at: string
  package_count: number
  is_managed_by_container: boolean
  status: string
}

export interface EnvironmentPackage {
  name: string
  version: string
}

export interface EnvironmentDetail {
  name: string
  python_version: string
  created_at: string
  updated_at: string
  is_managed_by_container: boolean
  usage_stats: { total_tasks: number; success_rate: number; avg_execution_time: number }
  packages: EnvironmentPackage[]
  status: string
  backend: string
  last_error: string | null
  last_operation_id: string | null
}

export interface EnvironmentExport {
  success: boolean
  name: string
  backend: string
  lock_kind: string | null
  lock_file: string | null
  lock: string
  requested_packages: string[]
}

export interface PythonVersions {
  success: boolean
  versions: string[]
  source: string
  message?: string
  details: { version: string; runners: string[] }[]
}

/**
 * Splits an NDJSON byte stream into parsed lines as chunks arrive; a line cut between two chunks is kept until its
 * end comes. `push` returns the complete lines of the chunk (possibly none), `end` the last unterminated one.
 */
export class NdjsonSplitter<T = unknown> {
  private pending = ''

  push(chunk: string): T[] {
    this.pending += chunk
    const lastBreak = this.pending.lastIndexOf('\n')
    if (lastBreak < 0) return []
    const complete = this.pending.slice(0, lastBreak)
    this.pending = this.pending.slice(lastBreak + 1)
    return parseLines<T>(complete)
  }

  end(): T[] {
    const rest = this.pending
    this.pending = ''
    return parseLines<T>(rest)
  }
}

function parseLines<T>(text: string): T[] {
  const out: T[] = []
  for (const line of text.split('\n')) {
    const trimmed = line.trim()
    if (trimmed) out.push(JSON.parse(trimmed) as T)
  }
  return out
}

/**
 * Reads an NDJSON response body and hands the items over in batches: at most one call per `interval` ms (and one
 * at the end), so hundreds of lines make a few renders rather than one per line.
 */
export async function readNdjson<T>(
  body: ReadableStream<Uint8Array>,
  onBatch: (items: T[]) => void,
  interval = 50,
  now: () => number = () => performance.now(),
): Promise<number> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  const splitter = new NdjsonSplitter<T>()
  let batch: T[] = []
  let last = -Infinity
  let count = 0
  const flush = () => {
    if (batch.length === 0) return
    count += batch.length
    onBatch(batch)
    batch = []
    last = now()
  }
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    batch.push(...splitter.push(decoder.decode(value, { stream: true })))
    // The first rows go out at once; later ones at most every `interval` ms.
    if (now() - last >= interval) flush()
  }
  batch.push(...splitter.push(decoder.decode()))
  batch.push(...splitter.end())
  flush()
  return count
}

/**
 * Package specs typed one per line or comma separated. A comma followed by a version operator belongs to the
 * spec (`numpy>=1.20,<2`), so only commas before a new name split; blank entries and `#` comments are dropped.
 */
export function parseSpecs(text: string): string[] {
  const specs: string[] = []
  for (const line of text.split(/\r?\n/)) {
    const withoutComment = line.replace(/(^|\s)#.*$/, '')
    for (const part of withoutComment.split(/,(?=\s*[A-Za-z0-9])/)) {
      const spec = part.trim().replace(/^[,\s]+|[,\s]+$/g, '')
      if (spec) specs.push(spec)
    }
  }
  return specs
}

/** Case-insensitive name filter of the list. */
export function filterEnvironments<T extends { name: string }>(items: T[], filter: string): T[] {
  const f = filter.trim().toLowerCase()
  return f ? items.filter((i) => i.name.toLowerCase().includes(f)) : items
}

export interface EnvironmentActions {
  install: boolean
  remove: boolean
  rename: boolean
  delete: boolean
  reset: boolean
}

/**
 * What the detail page offers for a status: a ready environment can be changed, renamed and deleted; a failed one
 * reset (rebuilt from its specs), renamed or deleted; one being built or deleted nothing until it has finished (the
 * API would answer 423 Locked anyway).
 */
export function environmentActions(status: string | null | undefined): EnvironmentActions {
  switch ((status ?? '').toLowerCase()) {
    case 'ready':
      return { install: true, remove: true, rename: true, delete: true, reset: false }
    case 'failed':
      return { install: false, remove: false, rename: true, delete: true, reset: true }
    default:
      return { install: false, remove: false, rename: false, delete: false, reset: false }
  }
}

/** Statuses during which a build runs: the page polls the detail and follows the log. */
export function isBusy(status: string | null | undefined): boolean {
  const s = (status ?? '').toLowerCase()
  return s === 'creating' || s === 'deleting' || s === 'updating'
}

/** The file name to save an export under: the API's lock file name, else one named for its kind. */
export function exportFileName(e: Pick<EnvironmentExport, 'name' | 'lock_file' | 'lock_kind'>): string {
  if (e.lock_file) return `${e.name}-${e.lock_file}`
  switch (e.lock_kind) {
    case 'uv.lock':
      return `${e.name}-uv.lock`
    case 'conda-explicit':
      return `${e.name}-conda-explicit.txt`
    default:
      return `${e.name}-requirements.txt`
  }
}

/** The URL of an environment's install-log SSE stream (optionally of one operation). */
export function logStreamUrl(name: string, operationId?: string | null): string {
  const q = new URLSearchParams({ stream: 'true' })
  if (operationId) q.set('operation_id', operationId)
  return `/api/conda/environment/${encodeURIComponent(name)}/logs?${q.toString()}`
}
