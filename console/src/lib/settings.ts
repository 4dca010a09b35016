// The settings area's own logic: the API's shapes (variables, package index, keys, backups, consistency) and
// the mapping between them and the page's forms. Pure, tested in tests/unit/settings.test.ts.

export type VariableType = 'plain' | 'secret'
export type ScopeKind = 'system' | 'namespace' | 'task'

export interface Variable {
  name: string
  type: VariableType
  scope: ScopeKind
  namespace?: string
  task_id?: number
  value: string | null
  set: boolean
  created_at: string | null
  updated_at: string | null
  updated_by: string
}

export interface VariableForm {
  name: string
  value: string
  type: VariableType
  scope: ScopeKind
  namespace: string
  taskId: string
}

export function emptyVariableForm(): VariableForm {
  return { name: '', value: '', type: 'plain', scope: 'system', namespace: '', taskId: '' }
}

/**
 * The body of PUT /api/settings/variables/{name}. The scope's value is passed as typed: a task id that is not a
 * number goes as text, so the API refuses it with its own message rather than the page guessing.
 */
export function variableBody(form: VariableForm): { value: string; type: VariableType; scope?: { namespace: string } | { task_id: number | string } } {
  const body: ReturnType<typeof variableBody> = { value: form.value, type: form.type }
  if (form.scope === 'namespace') body.scope = { namespace: form.namespace.trim() }
  if (form.scope === 'task') {
    const id = form.taskId.trim()
    body.scope = { task_id: /^\d+$/.test(id) ? Number(id) : id }
  }
  return body
}

/** The query choosing a variable's scope for GET/DELETE of one variable (none = system). */
export function variableQuery(v: Pick<Variable, 'scope' | 'namespace' | 'task_id'>): Record<string, string | number | undefined> {
  if (v.scope === 'namespace') return { namespace: v.namespace }
  if (v.scope === 'task') return { task_id: v.task_id }
  return {}
}

export function scopeLabel(v: Pick<Variable, 'scope' | 'namespace' | 'task_id'>): string {
  if (v.scope === 'namespace') return `namespace ${v.namespace ?? ''}`.trim()
  if (v.scope === 'task') return `task #${v.task_id ?? ''}`
  return 'system'
}

/** A stable key of one variable (a name may exist in several scopes). */
export function variableKey(v: Pick<Variable, 'name' | 'scope' | 'namespace' | 'task_id'>): string {
  return `${v.scope}:${v.namespace ?? ''}:${v.task_id ?? ''}:${v.name}`
}

/** The form to edit a listed variable: a secret's value is never known, so it starts empty. */
export function formOf(v: Variable): VariableForm {
  return {
    name: v.name,
    value: v.type === 'secret' ? '' : (v.value ?? ''),
    type: v.type,
    scope: v.scope,
    namespace: v.namespace ?? '',
    taskId: v.task_id !== undefined ? String(v.task_id) : '',
  }
}

export interface PackageIndex {
  index_url: string | null
  extra_index_urls: string[]
  find_links: string[]
  trusted_hosts: string[]
  no_index: boolean
  updated_at?: string | null
  updated_by?: string | null
}

export interface PackageIndexForm {
  indexUrl: string
  extraIndexUrls: string
  findLinks: string
  trustedHosts: string
  noIndex: boolean
}

/** One entry a line (blank lines and surrounding spaces dropped). */
export function lines(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0)
}

export function packageIndexForm(p: PackageIndex): PackageIndexForm {
  return {
    indexUrl: p.index_url ?? '',
    extraIndexUrls: (p.extra_index_urls ?? []).join('\n'),
    findLinks: (p.find_links ?? []).join('\n'),
    trustedHosts: (p.trusted_hosts ?? []).join('\n'),
    noIndex: p.no_index ?? false,
  }
}

/** The body of PUT /api/settings/package-index: empty fields are sent as empty (the API stores nothing for them). */
export function packageIndexBody(f: PackageIndexForm): Omit<PackageIndex, 'updated_at' | 'updated_by'> {
  return {
    index_url: f.indexUrl.trim() || null,
    extra_index_urls: lines(f.extraIndexUrls),
    find_links: lines(f.findLinks),
    trusted_hosts: lines(f.trustedHosts),
    no_index: f.noIndex,
  }
}

export interface ApiKey {
  name: string
  role: string
  namespace: string
  created_at: string
  value?: string
}

export interface Backup {
  id: string
  created_at: string
  size: number
  tables: number
  rows: number
  files: number
  consistent: boolean
}

export interface RestoreReport {
  success: boolean
  message: string
  backup_id: string
  created_at: string
  tables: { name: string; rows: number; deleted: number }[]
  files: number
  schedules_started: number
  schedules_ended: number
}

export interface Finding {
  kind: string
  subject: string
  detail: string
  repairable: boolean
  action: string
}

export interface ConsistencyReport {
  success: boolean
  checked_at: string
  grace_seconds: number
  findings: Finding[]
  counts: Record<string, number>
  skipped_recent: number
}

export interface RepairActionItem {
  kind: string
  subject: string
  action: string
  outcome: string
  detail: string
}

export interface RepairReport {
  success: boolean
  message: string
  dry_run: boolean
  checked_at: string
  actions: RepairActionItem[]
  not_repairable: Finding[]
  counts: Record<string, number>
}

/** Findings grouped by kind, the kinds in alphabetical order, each group in the API's order. */
export function groupByKind<T extends { kind: string }>(items: readonly T[]): { kind: string; items: T[] }[] {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const g = groups.get(item.kind)
    if (g) g.push(item)
    else groups.set(item.kind, [item])
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([kind, list]) => ({ kind, items: list }))
}

/** "environment_directory_missing" → "Environment directory missing". */
export function kindLabel(kind: string): string {
  const text = kind.replace(/_/g, ' ')
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/** `{ succeeded: 2, skipped: 1 }` → "2 succeeded, 1 skipped" (zero counts left out). */
export function countsText(counts: Record<string, number> | null | undefined): string {
  const parts = Object.entries(counts ?? {}).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k.replace(/_/g, ' ')}`)
  return parts.length ? parts.join(', ') : 'none'
}
