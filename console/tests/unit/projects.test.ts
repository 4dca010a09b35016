import { describe, expect, it } from 'vitest'
import { baseName, isUnder, joinPath, languageOf, movedPath, parentOf, projectUrl, treeRows, uploadForm, type ProjectEntry } from '../../src/lib/projects'

const entry = (path: string, type: 'file' | 'directory' = 'file'): ProjectEntry => ({ name: baseName(path), path, type, size: type === 'file' ? 1 : null, modified_at: '' })

describe('projects', () => {
  it('picks the editor language from the extension', () => {
    expect(languageOf('main.py')).toBe('python')
    expect(languageOf('conf/app.JSON')).toBe('json')
    expect(languageOf('a.yml')).toBe('yaml')
    expect(languageOf('b.yaml')).toBe('yaml')
    expect(languageOf('README.md')).toBe('markdown')
    expect(languageOf('pyproject.toml')).toBe('ini')
    expect(languageOf('setup.cfg')).toBe('ini')
    expect(languageOf('x.ini')).toBe('ini')
    expect(languageOf('run.sh')).toBe('shell')
    expect(languageOf('notes.txt')).toBe('plaintext')
    expect(languageOf('Makefile')).toBe('plaintext')
    expect(languageOf('.env')).toBe('plaintext')
    expect(languageOf('dir.v1/file')).toBe('plaintext')
  })

  it('splits and joins paths relative to the project root', () => {
    expect(parentOf('a/b/c.py')).toBe('a/b')
    expect(parentOf('c.py')).toBe('')
    expect(baseName('a/b/c.py')).toBe('c.py')
    expect(joinPath('', 'x.py')).toBe('x.py')
    expect(joinPath('lib', ' /x.py ')).toBe('lib/x.py')
    expect(joinPath('lib', '')).toBe('lib/')
    expect(isUnder('lib/x.py', 'lib')).toBe(true)
    expect(isUnder('lib', 'lib')).toBe(true)
    expect(isUnder('library/x.py', 'lib')).toBe(false)
    expect(movedPath('lib/x.py', 'lib', 'src/lib')).toBe('src/lib/x.py')
    expect(movedPath('lib', 'lib', 'src')).toBe('src')
    expect(movedPath('libx/y', 'lib', 'src')).toBe('libx/y')
  })

  it('escapes the project name in its URL', () => {
    expect(projectUrl('a b', '/files')).toBe('/api/projects/a%20b/files')
  })

  it('lists the tree rows of open, loaded folders only, depth first', () => {
    const folders = new Map<string, ProjectEntry[]>([
      ['', [entry('lib', 'directory'), entry('docs', 'directory'), entry('main.py')]],
      ['lib', [entry('lib/sub', 'directory'), entry('lib/a.py')]],
      ['lib/sub', [entry('lib/sub/b.py')]],
    ])
    const rows = treeRows(folders, new Set(['lib', 'lib/sub', 'docs']))
    expect(rows.map((r) => [r.entry.path, r.depth, r.open])).toEqual([
      ['lib', 0, true],
      ['lib/sub', 1, true],
      ['lib/sub/b.py', 2, false],
      ['lib/a.py', 1, false],
      ['docs', 0, true],
      ['main.py', 0, false],
    ])
    expect(treeRows(folders, new Set(['lib/sub'])).map((r) => r.entry.path)).toEqual(['lib', 'docs', 'main.py'])
  })

  it('builds the upload form, leaving out blank optional fields', () => {
    const file = new Blob(['PK'])
    const created = uploadForm({ name: ' demo ', file, fileName: 'd.zip', workDir: 'src', outputDir: ' ', namespace: 'team-a' }, false)
    expect(created.get('name')).toBe('demo')
    expect(created.get('work_dir')).toBe('src')
    expect(created.has('output_dir')).toBe(false)
    expect(created.get('namespace')).toBe('team-a')
    expect(created.get('file')).toBeInstanceOf(Blob)
    const replaced = uploadForm({ name: 'demo', file, workDir: '', namespace: 'team-a' }, true)
    expect(replaced.has('name')).toBe(false)
    expect(replaced.has('work_dir')).toBe(false)
    expect(replaced.has('namespace')).toBe(false)
  })
})
