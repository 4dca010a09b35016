import { describe, expect, it } from 'vitest'
import {
  filterByName,
  formatOffset,
  instanceActions,
  instancesQuery,
  parseEventBody,
  prettyJson,
  timeline,
  toIso,
  type HistoryEvent,
} from '../../src/lib/orchestrations'

describe('instanceActions', () => {
  it('allows terminate, raise event and suspend while running', () => {
    expect(instanceActions('Running')).toEqual({ terminate: true, raiseEvent: true, suspend: true, resume: false, purge: false })
    expect(instanceActions('Pending')).toEqual({ terminate: true, raiseEvent: true, suspend: true, resume: false, purge: false })
  })

  it('allows resume (and terminate, raise) when suspended, not suspend or purge', () => {
    expect(instanceActions('Suspended')).toEqual({ terminate: true, raiseEvent: true, suspend: false, resume: true, purge: false })
  })

  it('allows only purge once finished', () => {
    for (const s of ['Completed', 'Failed', 'Terminated', 'ContinuedAsNew']) {
      expect(instanceActions(s)).toEqual({ terminate: false, raiseEvent: false, suspend: false, resume: false, purge: true })
    }
  })

  it('allows nothing for an unknown status', () => {
    expect(Object.values(instanceActions(undefined)).some(Boolean)).toBe(false)
    expect(Object.values(instanceActions('Bogus')).some(Boolean)).toBe(false)
  })
})

describe('instancesQuery', () => {
  it('leaves empty parts out and joins statuses', () => {
    expect(instancesQuery({ instanceIdPrefix: '  ', statuses: [] })).toEqual({
      instanceIdPrefix: undefined, runtimeStatus: undefined, createdTimeFrom: undefined, createdTimeTo: undefined, top: 50,
    })
    const q = instancesQuery({ instanceIdPrefix: ' schedule-', statuses: ['Running', 'Suspended'], createdFrom: '2026-01-02T03:04:05Z', top: 20 })
    expect(q.instanceIdPrefix).toBe('schedule-')
    expect(q.runtimeStatus).toBe('Running,Suspended')
    expect(q.createdTimeFrom).toBe('2026-01-02T03:04:05.000Z')
    expect(q.top).toBe(20)
  })

  it('reads a datetime-local value in the browser zone', () => {
    const local = '2026-03-04T05:06'
    expect(toIso(local)).toBe(new Date(2026, 2, 4, 5, 6).toISOString())
    expect(toIso('')).toBeUndefined()
    expect(toIso('not a date')).toBe('not a date')
  })

  it('filters a page by name', () => {
    const items = [{ name: 'ScheduleOrchestrator' }, { name: 'EnvBuildOrchestrator' }]
    expect(filterByName(items, 'sched').map((i) => i.name)).toEqual(['ScheduleOrchestrator'])
    expect(filterByName(items, '')).toBe(items)
  })
})

describe('JSON helpers', () => {
  it('pretty-prints values and JSON strings, keeps other text', () => {
    expect(prettyJson({ a: 1 })).toBe('{\n  "a": 1\n}')
    expect(prettyJson('{"b":[1]}')).toBe('{\n  "b": [\n    1\n  ]\n}')
    expect(prettyJson('plain')).toBe('plain')
    expect(prettyJson(null)).toBe('')
    expect(prettyJson(0)).toBe('0')
  })

  it('parses an event body, empty as null, refusing what is not JSON', () => {
    expect(parseEventBody('{"ok":true}')).toEqual({ ok: true })
    expect(parseEventBody('  ')).toBeNull()
    expect(() => parseEventBody('{oops')).toThrow(/not JSON/)
  })
})

describe('timeline', () => {
  const events: HistoryEvent[] = [
    { EventType: 'TaskCompleted', EventId: -1, Timestamp: '2026-01-01T00:00:02.0000000Z', TaskScheduledId: 0, Result: { ok: 1 } },
    { EventType: 'ExecutionStarted', EventId: -1, Timestamp: '2026-01-01T00:00:00.0000000Z', Name: 'Hello', Input: 'x' },
    { EventType: 'TaskScheduled', EventId: 0, Timestamp: '2026-01-01T00:00:00.5000000Z', Name: 'SayHi' },
    { EventType: 'TimerCreated', EventId: 1, Timestamp: '2026-01-01T00:00:02.0000000Z', FireAt: '2026-01-01T01:00:00Z' },
    { EventType: 'ExecutionTerminated', EventId: -1, Timestamp: '2026-01-01T00:00:04.0000000Z' },
  ]

  it('orders by time (ties as listed), with offsets and positions', () => {
    const t = timeline(events)
    expect(t.map((e) => e.type)).toEqual(['ExecutionStarted', 'TaskScheduled', 'TaskCompleted', 'TimerCreated', 'ExecutionTerminated'])
    expect(t.map((e) => e.offset)).toEqual([0, 500, 2000, 2000, 4000])
    expect(t.map((e) => e.position)).toEqual([0, 12.5, 50, 50, 100])
    expect(t.map((e) => e.kind)).toEqual(['start', 'task', 'task', 'timer', 'end'])
    expect(t[2].detail).toBe('scheduled #0')
    expect(t[3].detail).toBe('fires 2026-01-01T01:00:00Z')
    expect(t[0].name).toBe('Hello')
    // The completion takes the name of the activity it completes.
    expect(t[2].name).toBe('SayHi')
    expect(t[0].data).toBe('x')
    expect(t[2].data).toBe('{\n  "ok": 1\n}')
  })

  it('marks failures and handles one or no event', () => {
    expect(timeline([{ EventType: 'TaskFailed', EventId: 0, Timestamp: '2026-01-01T00:00:00Z' }])[0]).toMatchObject({ kind: 'failure', position: 0, offset: 0 })
    expect(timeline([])).toEqual([])
    expect(timeline(undefined)).toEqual([])
  })

  it('formats offsets', () => {
    expect(formatOffset(1234)).toBe('+1.234 s')
    expect(formatOffset(123_000)).toBe('+2 min 3 s')
  })
})
