import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { apiCall, baseUrl, desktop, eventually, expectNoConsoleErrors, launch, masterKey, openPage, phone, screenshot, signIn } from './support'

// Projects: upload a ZIP through the page, browse it, edit main.py in Monaco and save with Ctrl+S, see the next run
// of a task in the project print the edited line; create, rename and delete files; a binary file shows the API's 415,
// a file over the editor's cap its 413.
const suffix = Math.random().toString(36).slice(2, 8)
const projectName = `proj-${suffix}`
const envName = `projenv-${suffix}`
const dir = mkdtempSync(join(tmpdir(), 'console-projects-'))

// A ZIP built with Python's zipfile (no zip library in the console's dependencies).
function makeZip(file: string, entries: Record<string, string | null>): string {
  const script = `
import json, sys, zipfile
entries = json.load(sys.stdin)
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
    for name, text in entries.items():
        z.writestr(name, b'\\x00\\x01\\x02binary\\xff' if text is None else text.encode('utf-8'))
`
  execFileSync('python3', ['-c', script, file], { input: JSON.stringify(entries) })
  return file
}

async function form(method: string, path: string, fields: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const body = new FormData()
  for (const [k, v] of Object.entries(fields)) body.set(k, v)
  const r = await fetch(baseUrl() + path, { method, headers: { 'x-functions-key': masterKey() }, body })
  return { status: r.status, body: (await r.json()) as Record<string, unknown> }
}

const treeItem = (page: Page, path: string) => page.locator(`[data-testid="tree-item"][data-path="${path}"]`)

describe('projects', () => {
  let browser: Browser
  beforeAll(async () => { browser = await launch() })
  afterAll(async () => {
    await browser?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('uploads a ZIP, edits main.py in Monaco, and the next run of a task in the project runs the edit', async () => {
    const zip = makeZip(join(dir, 'demo.zip'), {
      'main.py': 'import helper\nprint("original-" + helper.WORD)\n',
      'helper.py': 'WORD = "word"\n',
      'lib/util.py': 'X = 1\n',
      'README.md': '# demo\n',
      'data.bin': null,
      'big.log': 'x'.repeat(1100 * 1024),
    })
    const p = await openPage(browser, desktop, [/status of 415/, /status of 413/, /status of 409/])
    await signIn(p.page)
    await p.page.goto('/projects')
    await p.page.getByTestId('project-file').setInputFiles({ name: 'demo.zip', mimeType: 'application/zip', buffer: readFileSync(zip) })
    await p.page.getByTestId('project-name').fill(projectName)
    await p.page.getByTestId('project-upload-submit').click()
    const row = p.page.locator(`tr[data-project="${projectName}"]`)
    await row.waitFor({ timeout: 30_000 })
    const listed = await apiCall<{ project: { file_count: number } }>('GET', `/api/projects/${projectName}`)
    expect(listed.status).toBe(200)
    expect(await row.getByTestId('project-files').textContent()).toBe(String(listed.body.project.file_count))
    expect(listed.body.project.file_count).toBe(6)
    expect(await row.getByTestId('project-task-count').textContent()).toBe('0')
    await screenshot(p.page, 'projects-list')

    // The tree, folders expanded lazily.
    await row.getByTestId('project-link').click()
    await p.page.waitForURL(new RegExp(`/projects/${projectName}$`))
    await treeItem(p.page, 'main.py').waitFor()
    expect(await treeItem(p.page, 'lib/util.py').count()).toBe(0)
    await treeItem(p.page, 'lib').click()
    await treeItem(p.page, 'lib/util.py').waitFor()

    // A binary file: the API's 415 message instead of the editor.
    const binary = await apiCall<{ message: string }>('GET', `/api/projects/${projectName}/files/content?path=data.bin`)
    expect(binary.status).toBe(415)
    await treeItem(p.page, 'data.bin').click()
    await expect.poll(() => p.page.getByTestId('error').textContent()).toContain(binary.body.message)
    expect(await p.page.locator('.monaco-editor').count()).toBe(0)

    // Over PROJECT_MAX_EDIT_KB: the API's 413 message.
    const big = await apiCall<{ message: string }>('GET', `/api/projects/${projectName}/files/content?path=big.log`)
    expect(big.status).toBe(413)
    await treeItem(p.page, 'big.log').click()
    await expect.poll(() => p.page.getByTestId('error').textContent()).toContain(big.body.message)
    expect(await p.page.locator('.monaco-editor').count()).toBe(0)

    // Edit main.py in Monaco and save with Ctrl+S.
    await treeItem(p.page, 'main.py').click()
    const editor = p.page.locator('.monaco-editor')
    await editor.waitFor({ timeout: 30_000 })
    await expect.poll(() => p.page.getByTestId('editor').getAttribute('data-language')).toBe('python')
    await expect.poll(() => editor.locator('.view-lines').textContent()).toContain('original-')
    await editor.locator('.view-lines').click()
    await p.page.keyboard.press('ControlOrMeta+A')
    const edited = `import helper\nprint("edited-${suffix}-" + helper.WORD)\n`
    await p.page.keyboard.insertText(edited)
    await p.page.getByTestId('dirty').waitFor()
    await p.page.keyboard.press('ControlOrMeta+S')
    await p.page.getByTestId('clean').waitFor()
    const content = await apiCall<{ content: string }>('GET', `/api/projects/${projectName}/files/content?path=main.py`)
    expect(content.body.content).toBe(edited)
    await screenshot(p.page, 'projects-editor')

    // A task in the project, triggered by hand: its run prints the edited line.
    const created = await form('POST', '/api/tasks', {
      project: projectName, conda_env: envName, reuse_env: 'false', command: 'python main.py', delay_seconds: '86400',
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const taskId = (created.body.task as { task_id: number }).task_id
    const trigger = await eventually('trigger accepted', 120, async () => {
      const r = await apiCall('POST', `/api/tasks/${taskId}/trigger`)
      return r.status === 200 ? r : undefined
    })
    expect(trigger.status).toBe(200)
    const run = await eventually('the run completes', 120, async () => {
      const r = await apiCall<{ execution_history: { execution_id: string; status: string }[] }>('GET', `/api/tasks/${taskId}`)
      const e = r.body.execution_history?.[0]
      return e && ['completed', 'failed', 'timeout', 'abnormal'].includes(e.status) ? e : undefined
    })
    expect(run.status).toBe('completed')
    const log = await apiCall<{ logs: string }>('GET', `/api/tasks/${taskId}/executions/${run.execution_id}/logs`)
    expect(log.body.logs).toContain(`edited-${suffix}-word`)
    expect(log.body.logs).not.toContain('original-word')

    // The detail page names the task; deleting the project while it is used shows the API's 409 message.
    await p.page.reload()
    await expect.poll(() => p.page.getByTestId('project-tasks').textContent()).toContain(`#${taskId}`)
    await p.page.goto('/projects')
    await row.waitFor()
    expect(await row.getByTestId('project-task-count').textContent()).toBe('1')
    const inUse = await apiCall<{ message: string }>('DELETE', `/api/projects/${projectName}`)
    expect(inUse.status).toBe(409)
    p.page.once('dialog', (d) => void d.accept())
    await row.getByTestId('project-delete').click()
    await expect.poll(() => p.page.getByTestId('error').first().textContent()).toContain(inUse.body.message)
    expect(await row.count()).toBe(1)
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('creates, renames and deletes a file, and asks before leaving unsaved changes', async () => {
    const p = await openPage(browser)
    await signIn(p.page)
    await p.page.goto(`/projects/${projectName}`)
    await treeItem(p.page, 'main.py').waitFor()

    await p.page.getByTestId('new-file').click()
    await p.page.getByTestId('entry-path').fill('notes.txt')
    await p.page.getByTestId('entry-submit').click()
    await treeItem(p.page, 'notes.txt').waitFor()
    await p.page.locator('.monaco-editor').waitFor({ timeout: 30_000 })
    expect(await p.page.getByTestId('file-path').textContent()).toBe('notes.txt')
    expect((await apiCall('GET', `/api/projects/${projectName}/files/content?path=notes.txt`)).status).toBe(200)

    await p.page.getByTestId('new-folder').click()
    await p.page.getByTestId('entry-path').fill('docs')
    await p.page.getByTestId('entry-submit').click()
    await treeItem(p.page, 'docs').waitFor()

    await treeItem(p.page, 'notes.txt').click()
    await p.page.getByTestId('move-entry').click()
    await p.page.getByTestId('entry-path').fill('docs/renamed.txt')
    await p.page.getByTestId('entry-submit').click()
    await treeItem(p.page, 'docs/renamed.txt').waitFor()
    expect(await treeItem(p.page, 'notes.txt').count()).toBe(0)
    const listing = await apiCall<{ entries: { path: string }[] }>('GET', `/api/projects/${projectName}/files?path=docs`)
    expect(listing.body.entries.map((e) => e.path)).toEqual(['docs/renamed.txt'])

    await treeItem(p.page, 'docs/renamed.txt').click()
    p.page.once('dialog', (d) => void d.accept())
    await p.page.getByTestId('delete-entry').click()
    await expect.poll(() => treeItem(p.page, 'docs/renamed.txt').count()).toBe(0)
    const after = await apiCall<{ entries: unknown[] }>('GET', `/api/projects/${projectName}/files?path=docs`)
    expect(after.body.entries).toEqual([])

    // Unsaved changes: leaving asks first; dismissing stays on the page.
    await treeItem(p.page, 'README.md').click()
    const editor = p.page.locator('.monaco-editor')
    await editor.waitFor({ timeout: 30_000 })
    await expect.poll(() => p.page.getByTestId('editor').getAttribute('data-language')).toBe('markdown')
    await editor.locator('.view-lines').click()
    await p.page.keyboard.insertText('more ')
    await p.page.getByTestId('dirty').waitFor()
    let asked = ''
    p.page.once('dialog', (d) => { asked = d.message(); void d.dismiss() })
    await p.page.getByRole('link', { name: 'All projects' }).click()
    await expect.poll(() => asked).toContain('unsaved')
    expect(p.page.url()).toContain(`/projects/${projectName}`)
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('re-uploads a project from the list, keeping its work folder', async () => {
    const zip = makeZip(join(dir, 'v2.zip'), {
      'main.py': 'print("second upload")\n',
      'extra/more.py': 'Y = 2\n',
    })
    const p = await openPage(browser)
    await signIn(p.page)
    await p.page.goto('/projects')
    const row = p.page.locator(`tr[data-project="${projectName}"]`)
    await row.getByTestId('project-replace').click()
    await p.page.getByTestId('project-replace-file').setInputFiles({ name: 'v2.zip', mimeType: 'application/zip', buffer: readFileSync(zip) })
    await p.page.getByTestId('project-replace-submit').click()
    await expect.poll(() => row.getByTestId('project-files').textContent(), { timeout: 30_000 }).toBe('2')
    const project = await apiCall<{ project: { file_count: number; work_dir: string } }>('GET', `/api/projects/${projectName}`)
    expect(project.body.project).toMatchObject({ file_count: 2, work_dir: '' })
    const content = await apiCall<{ content: string }>('GET', `/api/projects/${projectName}/files/content?path=main.py`)
    expect(content.body.content).toBe('print("second upload")\n')
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('works at phone width', async () => {
    const p = await openPage(browser, phone)
    await signIn(p.page)
    await p.page.goto(`/projects/${projectName}`)
    await treeItem(p.page, 'main.py').click()
    await p.page.locator('.monaco-editor').waitFor({ timeout: 30_000 })
    const overflow = await p.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    expect(overflow).toBeLessThanOrEqual(0)
    await screenshot(p.page, 'projects-editor-phone')
    expectNoConsoleErrors(p)
    await p.context.close()
  })
})
