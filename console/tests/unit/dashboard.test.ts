import { describe, expect, it } from 'vitest'
import {
  countTiles,
  memoryHours,
  outcomePie,
  parseApiTime,
  pieOption,
  refreshDue,
  sevenDayOption,
  systemLineOption,
  sevenDays,
  sourceCards,
  systemSeries,
  taskCountHours,
  type SystemStats,
  type TaskStats,
} from '../../src/lib/dashboard'

// Shaped as GET /api/tasks/stats answers (seed 003), with the host's own field names.
function taskStats(overrides: Partial<TaskStats> = {}): TaskStats {
  return {
    total: 4,
    scheduled: 1,
    running: 0,
    completed: 2,
    failed: 1,
    paused: 0,
    stopped_count: 0,
    avg_duration: 0.131,
    min_duration: 0.112,
    max_duration: 0.15,
    success_rate: 66.7,
    system_resources: {
      timestamps: ['2026-11-30 22:00:00', '2026-11-30 23:00:00', '2026-12-01 00:00:00'],
      memory_usage: [null, 2400.5, 2422.2],
      total_memory: 24105.6,
      task_counts: [0, 3, 1],
    },
    task_success_rate: { success: 2, failed: 1, cancelled: 0, abnormal: 0 },
    last_7_days: {
      dates: ['2026-11-25', '2026-11-26', '2026-11-27', '2026-11-28', '2026-11-29', '2026-11-30', '2026-12-01'],
      success_counts: [0, 0, 0, 0, 0, 0, 2],
      failed_counts: [0, 0, 0, 0, 0, 0, 1],
    },
    upcoming_tasks: [],
    recent_tasks: [],
    ...overrides,
  }
}

describe('dashboard: task stats', () => {
  it('shows every count of the answer, the success rate as a percentage', () => {
    const tiles = countTiles(taskStats())
    expect(Object.fromEntries(tiles.map((t) => [t.key, t.value]))).toEqual({
      total: '4',
      scheduled: '1',
      running: '0',
      completed: '2',
      failed: '1',
      paused: '0',
      stopped_count: '0',
      success_rate: '66.7 %',
      avg_duration: '0.131 s',
      min_duration: '0.112 s',
      max_duration: '0.15 s',
    })
  })

  it('plots the four outcomes of the pie as the API gave them', () => {
    const pie = outcomePie({ success: 25, failed: 8, cancelled: 3, abnormal: 2 })
    expect(pie.empty).toBe(false)
    expect(pie.points).toEqual({ success: 25, failed: 8, cancelled: 3, abnormal: 2 })
    expect(pie.slices.map((s) => [s.key, s.value])).toEqual([['success', 25], ['failed', 8], ['cancelled', 3], ['abnormal', 2]])
  })

  it('has no pie without runs, or when the API gives none', () => {
    expect(outcomePie({ success: 0, failed: 0, cancelled: 0, abnormal: 0 }).empty).toBe(true)
    expect(outcomePie(null)).toEqual({ points: null, slices: [], empty: true })
  })

  it('keeps a day with no runs as zero bars', () => {
    const days = sevenDays(taskStats().last_7_days)
    expect(days.empty).toBe(false)
    expect(days.points).toEqual(taskStats().last_7_days)
    const option = sevenDayOption(days)
    expect(option.xAxis.data).toEqual(['11-25', '11-26', '11-27', '11-28', '11-29', '11-30', '12-01'])
    expect(option.series.map((s) => s.data)).toEqual([[0, 0, 0, 0, 0, 0, 2], [0, 0, 0, 0, 0, 0, 1]])
  })

  it('fills a short count array with zeros, and has no bars without days', () => {
    expect(sevenDays({ dates: ['2026-12-01', '2026-12-02'], success_counts: [1], failed_counts: [] }).points).toEqual({
      dates: ['2026-12-01', '2026-12-02'],
      success_counts: [1, 0],
      failed_counts: [0, 0],
    })
    expect(sevenDays(null).empty).toBe(true)
    expect(sevenDays({ dates: [], success_counts: [], failed_counts: [] }).empty).toBe(true)
  })

  it('plots memory per hour with the null hours as gaps', () => {
    const m = memoryHours(taskStats().system_resources)
    expect(m.empty).toBe(false)
    expect(m.values).toEqual([null, 2400.5, 2422.2])
    expect(m.labels).toEqual(['22:00', '23:00', '00:00'])
    expect(m.total).toBe(24105.6)
  })

  it('shows the placeholder when system_resources is null or has no memory value', () => {
    expect(memoryHours(null).empty).toBe(true)
    expect(taskCountHours(null).empty).toBe(true)
    const noValues = memoryHours({ timestamps: ['2026-12-01 00:00:00', '2026-12-01 01:00:00'], memory_usage: [null, null], total_memory: 0, task_counts: [0, 0] })
    expect(noValues.empty).toBe(true)
    expect(memoryHours({ timestamps: [], memory_usage: [], total_memory: 0, task_counts: [] }).empty).toBe(true)
  })

  it('plots the hourly task counts, zeros included', () => {
    const c = taskCountHours(taskStats().system_resources)
    expect(c).toEqual({ labels: ['22:00', '23:00', '00:00'], values: [0, 3, 1], empty: false })
    const zeros = taskCountHours({ timestamps: ['2026-12-01 00:00:00'], memory_usage: [1], total_memory: 1, task_counts: [0] })
    expect(zeros.empty).toBe(false)
    expect(zeros.values).toEqual([0])
  })

  it('reads seed 003 times as UTC and ISO times with their offset', () => {
    expect(parseApiTime('2025-05-02 10:30:00')?.toISOString()).toBe('2025-05-02T10:30:00.000Z')
    expect(parseApiTime('2026-12-01T21:53:35.3078139+00:00')?.toISOString()).toBe('2026-12-01T21:53:35.307Z')
    expect(parseApiTime('2026-12-01T15:30:10Z')?.toISOString()).toBe('2026-12-01T15:30:10.000Z')
    expect(parseApiTime('not a time')).toBeNull()
    expect(parseApiTime(null)).toBeNull()
  })
})

// Shaped as GET /api/system/stats answers (README "System monitor").
function systemStats(points: SystemStats['series'] = null): SystemStats {
  return {
    success: true,
    sampled_at: '2026-12-01T15:30:10Z',
    host: {
      name: 'web1',
      source: 'host:web1',
      cpu_percent: 12.5,
      memory_used_mb: 2048,
      memory_total_mb: 8192,
      load_avg: [0.52, 0.58, 0.59],
      disk: { path: '/mnt/nas', total_bytes: 1000, free_bytes: 250 },
    },
    runners: [
      {
        runner_id: 'r1',
        source: 'runner:r1',
        host: 'worker1',
        alive: true,
        last_heartbeat: '2026-12-01T15:30:08Z',
        cpu_percent: null,
        memory_used_mb: 1500,
        memory_total_mb: 6000,
        load_avg: [1.2, 0.9, 0.7],
        running_jobs: 2,
        slots: 50,
        disks: [{ role: 'share', path: '/mnt/nas', total_bytes: 1000, free_bytes: 500 }],
      },
      {
        runner_id: 'r2',
        source: 'runner:r2',
        host: 'worker2',
        alive: false,
        last_heartbeat: null,
        cpu_percent: null,
        memory_used_mb: null,
        memory_total_mb: null,
        load_avg: null,
        running_jobs: null,
        slots: null,
        disks: null,
      },
    ],
    share: { total_bytes: 1000, free_bytes: 250 },
    series: points,
  }
}

function point(at: string, source: string, cpu: number | null, mem: number | null) {
  return {
    at,
    source,
    host: 'h',
    cpu_percent: cpu,
    memory_used_mb: mem,
    memory_total_mb: 8192,
    load_avg: null,
    running_jobs: null,
    slots: null,
    disk_total_bytes: null,
    disk_free_bytes: null,
    samples: 1,
  }
}

describe('dashboard: system monitor', () => {
  it('makes one card per source, the host first, a dead runner marked down', () => {
    const cards = sourceCards(systemStats())
    expect(cards.map((c) => [c.source, c.alive])).toEqual([['host:web1', true], ['runner:r1', true], ['runner:r2', false]])
    expect(cards[0].memoryPercent).toBe(25)
    expect(cards[0].disks).toEqual([{ role: 'data', path: '/mnt/nas', totalBytes: 1000, freeBytes: 250, usedPercent: 75 }])
    expect(cards[1].jobs).toBe('2 / 50')
    expect(cards[1].cpuPercent).toBeNull()
    expect(cards[2]).toMatchObject({ memoryPercent: null, disks: [], jobs: null, load: null })
    expect(sourceCards(null)).toEqual([])
  })

  it('splits the series into one line per source, nulls as gaps', () => {
    const s = systemSeries(
      systemStats({
        range: '1h',
        interval_seconds: 10,
        points: [
          point('2026-12-01T14:30:00Z', 'host:web1', null, 2000),
          point('2026-12-01T14:30:00Z', 'runner:r1', 40, 1500),
          point('2026-12-01T14:30:10Z', 'host:web1', 12.5, 2048),
        ],
      }),
      'cpu_percent',
    )
    expect(s.empty).toBe(false)
    expect(s.points).toEqual({
      'host:web1': [['2026-12-01T14:30:00Z', null], ['2026-12-01T14:30:10Z', 12.5]],
      'runner:r1': [['2026-12-01T14:30:00Z', 40]],
    })
    expect(s.lines[0].data).toEqual([[Date.parse('2026-12-01T14:30:00Z'), null], [Date.parse('2026-12-01T14:30:10Z'), 12.5]])
  })

  it('has no chart when the series is null, empty, or has no value for the figure', () => {
    expect(systemSeries(systemStats(null), 'cpu_percent').empty).toBe(true)
    expect(systemSeries(systemStats({ range: '1h', interval_seconds: 10, points: [] }), 'memory_used_mb').empty).toBe(true)
    const firstSample = systemStats({ range: '1h', interval_seconds: 10, points: [point('2026-12-01T14:30:00Z', 'host:web1', null, 2000)] })
    expect(systemSeries(firstSample, 'cpu_percent').empty).toBe(true)
    expect(systemSeries(firstSample, 'memory_used_mb').empty).toBe(false)
  })

  it('refreshes on its own only while the tab is visible', () => {
    expect(refreshDue(null, 1000, 'visible', 12_000)).toBe(true)
    expect(refreshDue(1000, 5000, 'visible', 12_000)).toBe(false)
    expect(refreshDue(1000, 13_000, 'visible', 12_000)).toBe(true)
    expect(refreshDue(1000, 60_000, 'hidden', 12_000)).toBe(false)
    expect(refreshDue(null, 1000, 'hidden', 12_000)).toBe(false)
  })

  it('draws the pie with the four outcomes, labels only on the non-empty ones', () => {
    const option = pieOption(outcomePie({ success: 3, failed: 0, cancelled: 1, abnormal: 0 }))
    const data = option.series[0].data
    expect(data.map((d) => [d.key, d.value, d.label.show])).toEqual([['success', 3, true], ['failed', 0, false], ['cancelled', 1, true], ['abnormal', 0, false]])
  })

  it('shows the symbols of a system line while it has few points', () => {
    const few = systemSeries(systemStats({ range: '1h', interval_seconds: 10, points: [point('2026-12-01T14:30:00Z', 'host:web1', 12, 1)] }), 'cpu_percent')
    expect(systemLineOption(few, '%', 100).series[0]).toMatchObject({ name: 'host:web1', showSymbol: true, data: [[Date.parse('2026-12-01T14:30:00Z'), 12]] })
    const many = systemSeries(
      systemStats({ range: '1h', interval_seconds: 10, points: Array.from({ length: 100 }, (_, i) => point(new Date(Date.UTC(2026, 11, 1, 14, 0, i * 10)).toISOString(), 'host:web1', i, 1)) }),
      'cpu_percent',
    )
    expect(systemLineOption(many, '%', 100).series[0].showSymbol).toBe(false)
  })
})
