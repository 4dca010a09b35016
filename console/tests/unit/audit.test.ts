import { describe, expect, it } from 'vitest'
import {
  apiQuery,
  filtersFromQuery,
  filtersToQuery,
  inputsSummary,
  isoToLocalInput,
  localInputToIso,
  pageOf,
  pageSizeFromQuery,
  prettyInputs,
  type AuditItem,
} from '../../src/lib/audit'

// Shaped as GET /api/audit's items.
function row(id: string, at: string, operation = 'create'): AuditItem {
  return {
    id,
    at,
    operation,
    environment: 'e1',
    who: 'master',
    client_ip: '127.0.0.1',
    inputs: '{"task_id":2,"attempt":1,"trigger":{"kind":"now"}}',
    outcome: 'succeeded',
    duration_ms: 12,
    error: null,
    operation_id: null,
  }
}

const none = { operation: '', environment: '', ip: '', operation_id: '', from: '', to: '' }

describe('audit: filters in the URL', () => {
  it('reads the filters from the query, ignoring other keys and repeated values', () => {
    expect(filtersFromQuery({ operation: 'task.run', environment: [' e1 ', 'e2'], size: '25', other: 'x' })).toEqual({ ...none, operation: 'task.run', environment: 'e1' })
    expect(filtersFromQuery({})).toEqual(none)
  })

  it('writes only the filters given, and the page size when not the default', () => {
    expect(filtersToQuery({ ...none, operation: 'delete', from: '2026-12-01T08:00:00Z' }, 50)).toEqual({ operation: 'delete', from: '2026-12-01T08:00:00Z' })
    expect(filtersToQuery(none, 25)).toEqual({ size: '25' })
    expect(pageSizeFromQuery({ size: '25' })).toBe(25)
    expect(pageSizeFromQuery({ size: '7' })).toBe(50)
    expect(pageSizeFromQuery({})).toBe(50)
  })

  it('round-trips a URL query through the filters', () => {
    const q = { operation: 'create', ip: '::1', operation_id: 'env-1', to: '2026-12-01T09:30:00Z', size: '100' }
    expect(filtersToQuery(filtersFromQuery(q), pageSizeFromQuery(q))).toEqual(q)
  })
})

describe('audit: times', () => {
  it('sends a datetime-local value as the same instant in UTC ISO', () => {
    const local = '2026-12-01T21:45'
    const iso = localInputToIso(local)
    expect(iso).toMatch(/^2026-12-0[12]T\d{2}:45:00Z$/)
    expect(new Date(iso).getTime()).toBe(new Date(2026, 11, 1, 21, 45).getTime())
    expect(localInputToIso('2026-12-01T21:45:30')).toBe(new Date(2026, 11, 1, 21, 45, 30).toISOString().replace('.000Z', 'Z'))
    expect(localInputToIso('')).toBe('')
  })

  it('shows an ISO time in the datetime-local input, and back', () => {
    const iso = '2026-12-01T08:00:00Z'
    expect(localInputToIso(isoToLocalInput(iso))).toBe(iso)
    expect(localInputToIso(isoToLocalInput('2026-12-01T08:00:15Z'))).toBe('2026-12-01T08:00:15Z')
  })

  it('reads years before 100 as written, not as 19xx', () => {
    expect(localInputToIso('0050-06-01T12:00').startsWith('0050-')).toBe(true)
  })

  it('leaves what is not a time for the API to refuse', () => {
    expect(localInputToIso('yesterday')).toBe('yesterday')
    expect(isoToLocalInput('yesterday')).toBe('')
    expect(isoToLocalInput('2026-13-45T99:00')).toBe('')
    // A year the API cannot hold goes out as the browser writes it, and the API says no.
    expect(localInputToIso('20000-06-15T12:00')).toMatch(/^\+020000-06-1[456]T\d{2}:00:00Z$/)
  })
})

describe('audit: paging by time', () => {
  it('asks for one row more than the page, with the filters', () => {
    expect(apiQuery({ ...none, operation: 'create', from: '2026-12-01T00:00:00Z' }, 50, null)).toEqual({ operation: 'create', from: '2026-12-01T00:00:00Z', limit: 51 })
  })

  it('a full page with more behind it points the next page at its last time', () => {
    const items = [row('a', 't5'), row('b', 't4'), row('c', 't3'), row('d', 't2')]
    const page = pageOf(items, 3, null)
    expect(page.rows.map((r) => r.id)).toEqual(['a', 'b', 'c'])
    expect(page.more).toBe(true)
    expect(page.next).toEqual({ at: 't3', seen: ['c'] })
    // The next page replaces `to` with that time and asks for the shown rows at it on top.
    expect(apiQuery({ ...none, to: 't9' }, 3, page.next)).toEqual({ to: 't3', limit: 5 })
  })

  it('leaves out the rows already shown at the boundary time, and shows the others at it', () => {
    // Page 1 ended with c at t3; the API answers everything at or before t3 again, c and x share t3.
    const page = pageOf([row('c', 't3'), row('x', 't3'), row('d', 't2')], 3, { at: 't3', seen: ['c'] })
    expect(page.rows.map((r) => r.id)).toEqual(['x', 'd'])
    expect(page.more).toBe(false)
    expect(page.next).toBeNull()
  })

  it('carries the seen rows when a run of equal times spans more than one page', () => {
    const items = [row('a', 't3'), row('b', 't3'), row('c', 't3'), row('d', 't3'), row('e', 't3'), row('f', 't1')]
    const first = pageOf(items.slice(0, 3), 2, null)
    expect(first.next).toEqual({ at: 't3', seen: ['a', 'b'] })
    const second = pageOf(items.slice(0, 5), 2, first.next)
    expect(second.rows.map((r) => r.id)).toEqual(['c', 'd'])
    expect(second.next).toEqual({ at: 't3', seen: ['a', 'b', 'c', 'd'] })
    const third = pageOf(items, 2, second.next)
    expect(third.rows.map((r) => r.id)).toEqual(['e', 'f'])
    expect(third.more).toBe(false)
  })

  it('an exact page with nothing after it has no next page', () => {
    const page = pageOf([row('a', 't2'), row('b', 't1')], 2, null)
    expect(page.more).toBe(false)
    expect(page.next).toBeNull()
    expect(pageOf([], 2, null)).toEqual({ rows: [], more: false, next: null })
  })

  it('never asks the API for more than its limit allows', () => {
    expect(apiQuery(none, 100, { at: 't', seen: Array.from({ length: 2000 }, (_, i) => String(i)) }).limit).toBe(1000)
  })
})

describe('audit: inputs', () => {
  it('summarises the top-level fields and pretty-prints the JSON', () => {
    expect(inputsSummary('{"task_id":2,"attempt":1,"trigger":{"kind":"now"},"error":null}')).toBe('task_id=2, attempt=1')
    expect(inputsSummary('{}')).toBe('')
    expect(inputsSummary('not json')).toBe('not json')
    expect(inputsSummary('x'.repeat(100), 10)).toBe('x'.repeat(9) + '…')
    expect(prettyInputs('{"a":1}')).toBe('{\n  "a": 1\n}')
    expect(prettyInputs('plain')).toBe('plain')
  })
})
