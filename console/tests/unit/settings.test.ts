import { describe, expect, it } from 'vitest'
import {
  countsText, emptyVariableForm, formOf, groupByKind, kindLabel, lines, packageIndexBody, packageIndexForm,
  scopeLabel, variableBody, variableKey, variableQuery, type Variable,
} from '../../src/lib/settings'

const variable = (over: Partial<Variable>): Variable => ({
  name: 'X', type: 'plain', scope: 'system', value: 'v', set: true, created_at: null, updated_at: null, updated_by: 'master', ...over,
})

describe('settings: variables', () => {
  it('builds the PUT body for each scope', () => {
    const f = { ...emptyVariableForm(), name: 'A', value: 'v' }
    expect(variableBody(f)).toEqual({ value: 'v', type: 'plain' })
    expect(variableBody({ ...f, type: 'secret', scope: 'namespace', namespace: ' team-a ' })).toEqual({ value: 'v', type: 'secret', scope: { namespace: 'team-a' } })
    expect(variableBody({ ...f, scope: 'task', taskId: ' 12 ' })).toEqual({ value: 'v', type: 'plain', scope: { task_id: 12 } })
    // Not a number: passed as typed, for the API to refuse with its own message.
    expect(variableBody({ ...f, scope: 'task', taskId: 'abc' })).toEqual({ value: 'v', type: 'plain', scope: { task_id: 'abc' } })
  })

  it('chooses the scope of one variable by query, and labels it', () => {
    expect(variableQuery({ scope: 'system' })).toEqual({})
    expect(variableQuery({ scope: 'namespace', namespace: 'team-a' })).toEqual({ namespace: 'team-a' })
    expect(variableQuery({ scope: 'task', task_id: 7 })).toEqual({ task_id: 7 })
    expect(scopeLabel({ scope: 'system' })).toBe('system')
    expect(scopeLabel({ scope: 'namespace', namespace: 'team-a' })).toBe('namespace team-a')
    expect(scopeLabel({ scope: 'task', task_id: 7 })).toBe('task #7')
    expect(variableKey(variable({ scope: 'task', task_id: 7 }))).not.toBe(variableKey(variable({ scope: 'system' })))
  })

  it('never puts a secret into the edit form', () => {
    expect(formOf(variable({ type: 'secret', value: null, scope: 'namespace', namespace: 'n' }))).toEqual({ name: 'X', value: '', type: 'secret', scope: 'namespace', namespace: 'n', taskId: '' })
    expect(formOf(variable({ value: 'plain', scope: 'task', task_id: 3 })).value).toBe('plain')
    expect(formOf(variable({ scope: 'task', task_id: 3 })).taskId).toBe('3')
  })
})

describe('settings: package index', () => {
  it('reads one entry a line', () => {
    expect(lines(' a \r\n\n b\n  ')).toEqual(['a', 'b'])
    expect(lines('')).toEqual([])
  })

  it('maps the API answer to the form and back', () => {
    const api = { index_url: 'https://i/simple', extra_index_urls: ['https://e/1', 'https://e/2'], find_links: ['/w'], trusted_hosts: [], no_index: true, updated_at: 'x', updated_by: 'm' }
    const form = packageIndexForm(api)
    expect(form).toEqual({ indexUrl: 'https://i/simple', extraIndexUrls: 'https://e/1\nhttps://e/2', findLinks: '/w', trustedHosts: '', noIndex: true })
    expect(packageIndexBody(form)).toEqual({ index_url: 'https://i/simple', extra_index_urls: ['https://e/1', 'https://e/2'], find_links: ['/w'], trusted_hosts: [], no_index: true })
    expect(packageIndexBody({ ...form, indexUrl: '  ' }).index_url).toBeNull()
  })
})

describe('settings: consistency', () => {
  it('groups findings by kind, kinds sorted, order kept inside a group', () => {
    const f = (kind: string, subject: string) => ({ kind, subject, detail: '', repairable: true, action: 'a' })
    const groups = groupByKind([f('orphaned_task_log', 'b'), f('env_info_missing', 'x'), f('orphaned_task_log', 'a')])
    expect(groups.map((g) => [g.kind, g.items.map((i) => i.subject)])).toEqual([
      ['env_info_missing', ['x']],
      ['orphaned_task_log', ['b', 'a']],
    ])
    expect(groupByKind([])).toEqual([])
  })

  it('labels kinds and counts', () => {
    expect(kindLabel('environment_directory_missing')).toBe('Environment directory missing')
    expect(countsText({ succeeded: 2, skipped: 0, failed: 1 })).toBe('2 succeeded, 1 failed')
    expect(countsText({})).toBe('none')
    expect(countsText(null)).toBe('none')
  })
})
