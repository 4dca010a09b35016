import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { apiCall, baseUrl, dataRoot, desktop, expectNoConsoleErrors, launch, masterKey, openPage, phone, screenshot, signIn } from './support'

// Settings: variables and a write-only secret, the package index, named keys, backups (and a refused restore),
// the consistency check and a dry-run repair; a user key sees only the sections it may use.
const suffix = Math.random().toString(36).slice(2, 8).toUpperCase()
const plainName = `PLAIN_${suffix}`
const secretName = `SECRET_${suffix}`
const secretValue = `s3cr3t-${suffix}-value`
const keyName = `key-${suffix.toLowerCase()}`

interface PackageIndex { index_url: string | null; extra_index_urls: string[]; find_links: string[]; trusted_hosts: string[]; no_index: boolean }

const accept = (page: Page) => page.once('dialog', (d) => void d.accept())

describe('settings', () => {
  let browser: Browser
  let originalIndex: PackageIndex | undefined
  beforeAll(async () => {
    browser = await launch()
    originalIndex = (await apiCall<PackageIndex>('GET', '/api/settings/package-index')).body
  })
  afterAll(async () => {
    // The stack is shared by every browser test file: put the package index back as it was.
    if (originalIndex) {
      const { index_url, extra_index_urls, find_links, trusted_hosts, no_index } = originalIndex
      await apiCall('PUT', '/api/settings/package-index', { index_url, extra_index_urls, find_links, trusted_hosts, no_index })
    }
    // The secret would be given to every run of the other files' tasks.
    await apiCall('DELETE', `/api/settings/variables/${secretName}`)
    await browser?.close()
  })

  it('sets a variable and a secret whose value never reaches the page, and deletes one', async () => {
    const p = await openPage(browser)
    await signIn(p.page)
    await p.page.goto('/settings')
    const section = p.page.getByTestId('variables')
    await section.getByTestId('variables-table').waitFor()

    await section.getByTestId('variable-name').fill(plainName)
    await section.getByTestId('variable-value-input').fill('plain-value')
    await section.getByTestId('variable-save').click()
    const plainRow = section.locator(`tr[data-variable="${plainName}"]`)
    await plainRow.waitFor()
    expect(await plainRow.getByTestId('variable-value').textContent()).toBe('plain-value')

    await section.getByTestId('variable-type').selectOption('secret')
    expect(await section.getByTestId('variable-value-input').getAttribute('type')).toBe('password')
    await section.getByTestId('variable-name').fill(secretName)
    await section.getByTestId('variable-value-input').fill(secretValue)
    await section.getByTestId('variable-save').click()
    const secretRow = section.locator(`tr[data-variable="${secretName}"]`)
    await secretRow.waitFor()
    expect(await secretRow.getByTestId('variable-value').textContent()).toContain('set')
    // Nowhere in the DOM: neither the markup nor any field's value.
    expect(await p.page.content()).not.toContain(secretValue)
    expect(await p.page.evaluate((v) => [...document.querySelectorAll('input, textarea')].some((e) => (e as HTMLInputElement).value.includes(v)), secretValue)).toBe(false)
    const listed = await apiCall<{ variables: { name: string; value: string | null; set: boolean; type: string }[] }>('GET', '/api/settings/variables?scope=system')
    expect(listed.body.variables.find((v) => v.name === secretName)).toMatchObject({ type: 'secret', value: null, set: true })
    expect(listed.body.variables.find((v) => v.name === plainName)).toMatchObject({ type: 'plain', value: 'plain-value' })

    // A name the API refuses: its message, as given.
    const refused = await apiCall<{ message: string }>('PUT', '/api/settings/variables/PATH', { value: 'x' })
    expect(refused.status).toBe(400)

    accept(p.page)
    await plainRow.getByTestId('variable-delete').click()
    await expect.poll(() => plainRow.count()).toBe(0)
    expect((await apiCall('GET', `/api/settings/variables/${plainName}`)).status).toBe(404)
    expect(await p.page.content()).not.toContain(secretValue)
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('shows the API\'s refusal of a bad variable name', async () => {
    const p = await openPage(browser, desktop, [/status of 400/])
    await signIn(p.page)
    await p.page.goto('/settings')
    const section = p.page.getByTestId('variables')
    await section.getByTestId('variable-name').fill('PATH')
    await section.getByTestId('variable-value-input').fill('x')
    await section.getByTestId('variable-save').click()
    const refused = await apiCall<{ message: string }>('PUT', '/api/settings/variables/PATH', { value: 'x', type: 'plain' })
    await expect.poll(() => section.getByTestId('error').textContent()).toContain(refused.body.message)
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('updates the package index, and shows the API\'s refusal of a bad URL', async () => {
    const p = await openPage(browser, desktop, [/status of 400/])
    await signIn(p.page)
    await p.page.goto('/settings')
    const section = p.page.getByTestId('package-index')
    // The form is filled from the API's answer: wait for it before typing.
    await p.page.locator('[data-testid="package-index"][data-loaded="true"]').waitFor()
    // The stack's own wheelhouse, so environment builds of other tests still find their packages.
    const wheelhouse = join(dirname(dataRoot()), 'wheelhouse')
    await section.getByTestId('pi-index-url').fill('')
    await section.getByTestId('pi-find-links').fill(wheelhouse)
    await section.getByTestId('pi-trusted').fill('pypi.internal:8443\n\n')
    await section.getByTestId('pi-no-index').check()
    await section.getByTestId('pi-save').click()
    await section.getByTestId('package-index-notice').waitFor()
    const stored = await apiCall<PackageIndex & { updated_by: string }>('GET', '/api/settings/package-index')
    expect(stored.body).toMatchObject({ find_links: [wheelhouse], trusted_hosts: ['pypi.internal:8443'], no_index: true })

    await section.getByTestId('pi-index-url').fill('not a url')
    await section.getByTestId('pi-save').click()
    const refused = await apiCall<{ message: string; error: string }>('PUT', '/api/settings/package-index', { index_url: 'not a url' })
    expect(refused.status).toBe(400)
    await expect.poll(() => section.getByTestId('error').textContent()).toContain(refused.body.message)
    expect((await apiCall<PackageIndex>('GET', '/api/settings/package-index')).body.find_links).toEqual([wheelhouse])
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('creates a key whose secret is shown once and works, then revokes it', async () => {
    const p = await openPage(browser)
    await signIn(p.page)
    await p.page.goto('/settings')
    const section = p.page.getByTestId('keys')
    await section.getByTestId('keys-table').waitFor()
    await section.getByTestId('key-name').fill(keyName)
    await section.getByTestId('key-namespace').fill('team-e2e')
    await section.getByTestId('key-create').click()
    await section.getByTestId('key-created').waitFor()
    const secret = await section.getByTestId('key-secret').inputValue()
    expect(secret.length).toBeGreaterThan(16)
    const row = section.locator(`tr[data-key="${keyName}"]`)
    await row.waitFor()
    expect(await row.textContent()).toContain('team-e2e')
    const me = await fetch(baseUrl() + '/api/auth/me', { headers: { 'x-functions-key': secret } })
    expect(me.status).toBe(200)

    await section.getByTestId('key-dismiss').click()
    expect(await p.page.content()).not.toContain(secret)

    accept(p.page)
    await row.getByTestId('key-revoke').click()
    await expect.poll(() => row.count()).toBe(0)
    await section.getByTestId('keys-notice').waitFor()
    const keys = await apiCall<{ keys: { name: string }[] }>('GET', '/api/keys')
    expect(keys.body.keys.map((k) => k.name)).not.toContain(keyName)
    expect((await fetch(baseUrl() + '/api/auth/me', { headers: { 'x-functions-key': secret } })).status).toBe(401)
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('makes a backup, lists, downloads and restores it from the upload, refuses a bad archive, deletes it; runs the consistency check', async () => {
    const p = await openPage(browser, desktop, [/status of 422/])
    await signIn(p.page)
    await p.page.goto('/settings')
    const section = p.page.getByTestId('backup')
    await section.getByTestId('backups-table').waitFor()
    await section.getByTestId('backup-create').click()
    await section.getByTestId('backup-notice').waitFor({ timeout: 120_000 })
    const list = await apiCall<{ backups: { id: string }[] }>('GET', '/api/system/backups')
    const id = list.body.backups[0].id
    expect(await section.getByTestId('backup-notice').textContent()).toContain(id)
    const row = section.locator(`tr[data-backup="${id}"]`)
    await row.waitFor()

    const [download] = await Promise.all([p.page.waitForEvent('download'), row.getByTestId('backup-download').click()])
    expect(download.suggestedFilename()).toBe(`${id}.zip`)
    const stored = await fetch(`${baseUrl()}/api/system/backups/${id}`, { headers: { 'x-functions-key': masterKey() } })
    expect(stored.headers.get('content-type')).toContain('application/zip')

    // Restore the archive just downloaded, uploaded through the page (the state it holds is the current one, so the
    // shared stack is left as it was): the page shows the API's report.
    const archivePath = await download.path()
    await section.getByTestId('restore-file').setInputFiles(archivePath)
    accept(p.page)
    await section.getByTestId('restore-submit').click()
    const restored = section.getByTestId('restore-report')
    await restored.waitFor({ timeout: 120_000 })
    expect(await restored.textContent()).toContain(id)
    expect(await restored.locator('tbody tr').count()).toBeGreaterThan(0)
    const audit = await apiCall<{ data?: unknown[]; items?: unknown[] }>('GET', '/api/audit?operation=system.restore')
    expect(JSON.stringify(audit.body)).toContain(id)

    // An archive that is not a backup: verification refuses it and nothing changes; the page shows the API's report.
    const junk = Buffer.from('PK\u0005\u0006' + '\u0000'.repeat(18), 'latin1')
    const form = new FormData()
    form.set('file', new Blob([junk]), 'junk.zip')
    const refused = await (await fetch(baseUrl() + '/api/system/restore', { method: 'POST', headers: { 'x-functions-key': masterKey() }, body: form })).json() as { message: string }
    await section.getByTestId('restore-file').setInputFiles({ name: 'junk.zip', mimeType: 'application/zip', buffer: junk })
    accept(p.page)
    await section.getByTestId('restore-submit').click()
    await expect.poll(() => section.getByTestId('error').textContent(), { timeout: 30_000 }).toContain(refused.message)

    accept(p.page)
    await row.getByTestId('backup-delete').click()
    await expect.poll(() => row.count()).toBe(0)
    expect((await apiCall('GET', `/api/system/backups/${id}`)).status).toBe(404)

    // The consistency check: the page's findings are the API's (compared when the state held still around it).
    const consistency = p.page.getByTestId('consistency')
    const before = await apiCall<{ findings: { kind: string; subject: string }[] }>('GET', '/api/system/consistency')
    await consistency.getByTestId('consistency-run').click()
    const report = consistency.getByTestId('consistency-report')
    await report.waitFor({ timeout: 120_000 })
    const after = await apiCall<{ findings: { kind: string; subject: string }[] }>('GET', '/api/system/consistency')
    if (JSON.stringify(before.body.findings) === JSON.stringify(after.body.findings)) {
      expect(Number(await report.getAttribute('data-findings'))).toBe(after.body.findings.length)
      const kinds = [...new Set(after.body.findings.map((f) => f.kind))].sort()
      expect(await consistency.getByTestId('finding-group').evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')))).toEqual(kinds)
    }
    await consistency.getByTestId('repair-dry-run').click()
    await consistency.getByTestId('repair-report').waitFor({ timeout: 120_000 })
    expect(await consistency.getByTestId('repair-report').getAttribute('data-dry-run')).toBe('true')
    await screenshot(p.page, 'settings')
    expectNoConsoleErrors(p)
    await p.context.close()
  })

  it('shows a user key only its sections, and fits a phone', async () => {
    const name = `user-${suffix.toLowerCase()}`
    const created = await apiCall<{ key: { value: string } }>('POST', '/api/keys', { name, role: 'user', namespace: 'team-phone' })
    expect(created.status).toBe(201)
    const p = await openPage(browser, phone)
    await signIn(p.page, created.body.key.value)
    await p.page.goto('/settings')
    await p.page.getByTestId('variables-table').waitFor()
    await p.page.getByTestId('package-index').waitFor()
    expect(await p.page.getByTestId('keys').count()).toBe(0)
    expect(await p.page.getByTestId('backup').count()).toBe(0)
    expect(await p.page.getByTestId('consistency').count()).toBe(0)
    expect(await p.page.getByTestId('pi-save').count()).toBe(0)
    const overflow = await p.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    expect(overflow).toBeLessThanOrEqual(0)
    await screenshot(p.page, 'settings-phone-user')
    expectNoConsoleErrors(p)
    await p.context.close()
    await apiCall('DELETE', `/api/keys/${name}`)
  })
})
