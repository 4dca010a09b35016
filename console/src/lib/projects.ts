// The projects area's own logic (types of /api/projects, paths, editor languages), kept free of the browser so
// tests/unit/projects.test.ts can check it.

export interface Project {
  name: string
  namespace: string
  path: string
  work_dir: string
  output_dir: string | null
  created_at: string
  updated_at: string
  size_bytes: number
  file_count: number
}

/** A project as GET /api/projects lists it. */
export interface ProjectListItem extends Project {
  task_count: number
}

export interface ProjectTaskItem {
  task_id: number
  task_name: string
}

export interface ProjectDetail extends Project {
  tasks: ProjectTaskItem[]
}

export interface ProjectEntry {
  name: string
  path: string
  type: 'file' | 'directory'
  size: number | null
  modified_at: string
}

export interface ProjectListing {
  success: boolean
  path: string
  entries: ProjectEntry[]
}

export interface ProjectFileContent {
  success: boolean
  path: string
  content: string
  encoding: string
  size: number
  modified_at: string
}

/** `/api/projects/{name}` with the name escaped. */
export function projectUrl(name: string, rest = ''): string {
  return `/api/projects/${encodeURIComponent(name)}${rest}`
}

// Monaco language ids by extension; toml has no grammar in Monaco, and its syntax is ini's closely enough.
const languages: Record<string, string> = {
  py: 'python',
  pyw: 'python',
  json: 'json',
  yaml: 'yaml',
  yml: 'yaml',
  md: 'markdown',
  markdown: 'markdown',
  txt: 'plaintext',
  toml: 'ini',
  cfg: 'ini',
  ini: 'ini',
  sh: 'shell',
  bash: 'shell',
}

/** The editor language of a file, from its extension; plain text when unknown. */
export function languageOf(path: string): string {
  const name = baseName(path)
  const dot = name.lastIndexOf('.')
  if (dot <= 0) return 'plaintext'
  return languages[name.slice(dot + 1).toLowerCase()] ?? 'plaintext'
}

export function baseName(path: string): string {
  const i = path.lastIndexOf('/')
  return i < 0 ? path : path.slice(i + 1)
}

/** The folder a path is in ('' for the root). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/')
  return i < 0 ? '' : path.slice(0, i)
}

/** A name under a folder ('' is the root); the user's slashes are kept so a name may hold sub-folders. */
export function joinPath(folder: string, name: string): string {
  const n = name.trim().replace(/^\/+/, '')
  return folder ? `${folder}/${n}` : n
}

/** A folder's own row and everything under it, as opened in the tree. */
export function isUnder(path: string, folder: string): boolean {
  return path === folder || path.startsWith(folder + '/')
}

/** After a move, where a path under `from` now lives. */
export function movedPath(path: string, from: string, to: string): string {
  if (path === from) return to
  return isUnder(path, from) ? to + path.slice(from.length) : path
}

/** One visible row of the file tree: an entry with its depth. */
export interface TreeRow {
  entry: ProjectEntry
  depth: number
  open: boolean
}

/**
 * The rows of a lazily expanded tree: `folders` maps a folder path ('' = root) to its loaded entries; an open
 * folder whose entries are loaded shows them under it.
 */
export function treeRows(folders: ReadonlyMap<string, ProjectEntry[]>, open: ReadonlySet<string>, folder = '', depth = 0): TreeRow[] {
  const rows: TreeRow[] = []
  for (const entry of folders.get(folder) ?? []) {
    const isOpen = entry.type === 'directory' && open.has(entry.path)
    rows.push({ entry, depth, open: isOpen })
    if (isOpen) rows.push(...treeRows(folders, open, entry.path, depth + 1))
  }
  return rows
}

/** The multipart body of a project upload (POST) or re-upload (PUT); empty optional fields are left out. */
export function uploadForm(fields: { name?: string; file: Blob; fileName?: string; workDir?: string; outputDir?: string; namespace?: string }, replace: boolean): FormData {
  const form = new FormData()
  if (!replace && fields.name !== undefined) form.set('name', fields.name.trim())
  form.set('file', fields.file, fields.fileName ?? 'project.zip')
  // On a re-upload an absent work_dir/output_dir keeps the project's; a blank one would reset it to the root.
  if (fields.workDir?.trim()) form.set('work_dir', fields.workDir.trim())
  if (fields.outputDir?.trim()) form.set('output_dir', fields.outputDir.trim())
  if (!replace && fields.namespace?.trim()) form.set('namespace', fields.namespace.trim())
  return form
}
