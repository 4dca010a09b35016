import { describe, expect, it } from 'vitest'
import { formatBytes, formatDuration, parseTime } from '../../src/lib/format'

describe('format', () => {
  it('formats bytes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatBytes(300 * 1024 * 1024)).toBe('300 MiB')
    expect(formatBytes(null)).toBe('–')
  })

  it('formats durations', () => {
    expect(formatDuration(0.25)).toBe('250 ms')
    expect(formatDuration(3.456)).toBe('3.46 s')
    expect(formatDuration(125)).toBe('2 min 5 s')
    expect(formatDuration(7320)).toBe('2 h 2 min')
    expect(formatDuration(undefined)).toBe('–')
  })

  it('reads ISO times, the seeds\' "yyyy-MM-dd HH:mm:ss" and epoch seconds', () => {
    expect(parseTime('2026-12-01T10:00:00Z')?.toISOString()).toBe('2026-12-01T10:00:00.000Z')
    expect(parseTime('2026-12-01 10:00:00')?.toISOString()).toBe('2026-12-01T10:00:00.000Z')
    expect(parseTime(1_764_583_200)?.toISOString()).toBe('2025-12-01T10:00:00.000Z')
    expect(parseTime('not a time')).toBeNull()
  })
})
