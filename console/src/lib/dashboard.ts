import { parseTime } from './format'
// The dashboard's mapping of GET /api/tasks/stats (seed 003) and GET /api/system/stats (system monitor) to figures
// and chart series. Pure functions, unit-tested in tests/unit/dashboard.test.ts. A series the API gives as null, or
// with no values at all, is `empty`: the page shows a placeholder instead of an empty chart.

export interface SystemResources {
  timestamps: string[]
  memory_usage: (number | null)[]
  total_memory: number
  task_counts: number[]
}

export interface SuccessRateBreakdown {
  success: number
  failed: number
  cancelled: number
  abnormal: number
}

export interface LastSevenDays {
  dates: string[]
  success_counts: number[]
  failed_counts: number[]
}

export interface UpcomingTask {
  task_id: number
  task_name: string
  conda_env: string
  command: string
  scheduled_time: string
  cron_expression: string | null
}

export interface RecentTask {
  task_id: number
  name: string
  status: string
  start_time: string | null
  end_time: string | null
  duration: number | null
}

export interface TaskStats {
  total: number
  scheduled: number
  running: number
  completed: number
  failed: number
  paused: number
  stopped_count: number
  avg_duration: number
  min_duration: number
  max_duration: number
  success_rate: number
  system_resources: SystemResources | null
  task_success_rate: SuccessRateBreakdown | null
  last_7_days: LastSevenDays | null
  upcoming_tasks: UpcomingTask[] | null
  recent_tasks: RecentTask[] | null
}

export interface DiskView {
  path: string
  total_bytes: number | null
  free_bytes: number | null
}

export interface RunnerDiskView extends DiskView {
  role: string
}

export interface HostStats {
  name: string
  source: string
  cpu_percent: number | null
  memory_used_mb: number | null
  memory_total_mb: number | null
  load_avg: number[] | null
  disk: DiskView | null
}

export interface RunnerStats {
  runner_id: string
  source: string
  host: string
  alive: boolean
  last_heartbeat: string | null
  cpu_percent: number | null
  memory_used_mb: number | null
  memory_total_mb: number | null
  load_avg: number[] | null
  running_jobs: number | null
  slots: number | null
  disks: RunnerDiskView[] | null
}

export interface SeriesPoint {
  at: string
  source: string
  host: string
  cpu_percent: number | null
  memory_used_mb: number | null
  memory_total_mb: number | null
  load_avg: number[] | null
  running_jobs: number | null
  slots: number | null
  disk_total_bytes: number | null
  disk_free_bytes: number | null
  samples: number
}

export interface SystemStats {
  success: boolean
  sampled_at: string | null
  host: HostStats | null
  runners: RunnerStats[] | null
  share: { total_bytes: number | null; free_bytes: number | null } | null
  series: { range: string; interval_seconds: number; points: SeriesPoint[] | null } | null
}

export const systemRanges = ['1h', '6h', '24h', '7d'] as const
export type SystemRange = (typeof systemRanges)[number]

export function isSystemRange(value: unknown): value is SystemRange {
  return typeof value === 'string' && (systemRanges as readonly string[]).includes(value)
}

/** Seed 003's times ("yyyy-MM-dd HH:mm:ss") are UTC; ISO times carry their offset. */
export function parseApiTime(value: string | null | undefined): Date | null {
  return value ? parseTime(value) : null
}

export interface CountTile {
  key: string
  label: string
  value: string
}

function fixed(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : String(Number(value.toFixed(digits)))
}

/** The counts and figures of the answer, in the order the page shows them. */
export function countTiles(stats: TaskStats): CountTile[] {
  return [
    { key: 'total', label: 'Tasks', value: String(stats.total) },
    { key: 'scheduled', label: 'Scheduled', value: String(stats.scheduled) },
    { key: 'running', label: 'Running', value: String(stats.running) },
    { key: 'completed', label: 'Completed', value: String(stats.completed) },
    { key: 'failed', label: 'Failed', value: String(stats.failed) },
    { key: 'paused', label: 'Paused', value: String(stats.paused) },
    { key: 'stopped_count', label: 'Stopped', value: String(stats.stopped_count) },
    { key: 'success_rate', label: 'Success rate', value: `${fixed(stats.success_rate, 1)} %` },
    { key: 'avg_duration', label: 'Average run', value: `${fixed(stats.avg_duration, 3)} s` },
    { key: 'min_duration', label: 'Shortest run', value: `${fixed(stats.min_duration, 3)} s` },
    { key: 'max_duration', label: 'Longest run', value: `${fixed(stats.max_duration, 3)} s` },
  ]
}

const outcomeLabels: Record<keyof SuccessRateBreakdown, string> = {
  success: 'Succeeded',
  failed: 'Failed',
  cancelled: 'Cancelled',
  abnormal: 'Abnormal',
}
const outcomeColors: Record<keyof SuccessRateBreakdown, string> = {
  success: '#2e7d32',
  failed: '#c62828',
  cancelled: '#9aa5b1',
  abnormal: '#b26a00',
}

export interface PieSeries {
  /** The four figures as the API gave them (what the chart plots). */
  points: SuccessRateBreakdown | null
  slices: { key: string; name: string; value: number; itemStyle: { color: string } }[]
  empty: boolean
}

/** The outcome pie: every execution of the last 30 days by how it ended; empty when there is none. */
export function outcomePie(breakdown: SuccessRateBreakdown | null | undefined): PieSeries {
  if (!breakdown) return { points: null, slices: [], empty: true }
  const keys = Object.keys(outcomeLabels) as (keyof SuccessRateBreakdown)[]
  const points = Object.fromEntries(keys.map((k) => [k, breakdown[k] ?? 0])) as unknown as SuccessRateBreakdown
  const slices = keys.map((k) => ({ key: k, name: outcomeLabels[k], value: points[k], itemStyle: { color: outcomeColors[k] } }))
  return { points, slices, empty: slices.every((s) => s.value === 0) }
}

export interface DaySeries {
  points: LastSevenDays | null
  empty: boolean
}

/** The 7-day bars; a day with no runs is a zero bar, not a gap. Empty only without days. */
export function sevenDays(days: LastSevenDays | null | undefined): DaySeries {
  if (!days || !Array.isArray(days.dates) || days.dates.length === 0) return { points: null, empty: true }
  const n = days.dates.length
  const pad = (values: number[] | null | undefined) => Array.from({ length: n }, (_, i) => values?.[i] ?? 0)
  return { points: { dates: [...days.dates], success_counts: pad(days.success_counts), failed_counts: pad(days.failed_counts) }, empty: false }
}

export interface HourSeries {
  labels: string[]
  values: (number | null)[]
  empty: boolean
}

function hourLabel(timestamp: string): string {
  // "2025-05-02 13:00:00" (UTC) -> "13:00"; the full time is in the tooltip.
  const m = /(\d{2}:\d{2}):\d{2}$/.exec(timestamp)
  return m ? m[1] : timestamp
}

/** The runners' memory per hour (MB) over 24 h; null hours are gaps. Empty when the API says null or no hour has a value. */
export function memoryHours(resources: SystemResources | null | undefined): HourSeries & { total: number | null } {
  if (!resources || !Array.isArray(resources.timestamps)) return { labels: [], values: [], empty: true, total: null }
  const values = resources.timestamps.map((_, i) => resources.memory_usage?.[i] ?? null)
  return {
    labels: resources.timestamps.map(hourLabel),
    values,
    empty: values.every((v) => v === null),
    total: typeof resources.total_memory === 'number' ? resources.total_memory : null,
  }
}

/** Executions started per hour over 24 h. Zeros are values; empty only when the API gives no series. */
export function taskCountHours(resources: SystemResources | null | undefined): HourSeries {
  if (!resources || !Array.isArray(resources.timestamps) || !Array.isArray(resources.task_counts) || resources.timestamps.length === 0) {
    return { labels: [], values: [], empty: true }
  }
  return {
    labels: resources.timestamps.map(hourLabel),
    values: resources.timestamps.map((_, i) => resources.task_counts[i] ?? null),
    empty: false,
  }
}

export interface SourceCard {
  source: string
  kind: 'host' | 'runner'
  title: string
  subtitle: string
  alive: boolean
  cpuPercent: number | null
  memoryUsedMb: number | null
  memoryTotalMb: number | null
  memoryPercent: number | null
  load: number[] | null
  disks: { role: string; path: string; totalBytes: number | null; freeBytes: number | null; usedPercent: number | null }[]
  jobs: string | null
  lastHeartbeat: string | null
}

function percent(part: number | null | undefined, whole: number | null | undefined): number | null {
  if (part === null || part === undefined || !whole) return null
  return Math.round((1000 * part) / whole) / 10
}

function disk(role: string, d: DiskView) {
  const used = d.total_bytes !== null && d.free_bytes !== null ? d.total_bytes - d.free_bytes : null
  return { role, path: d.path, totalBytes: d.total_bytes, freeBytes: d.free_bytes, usedPercent: percent(used, d.total_bytes) }
}

/** One card per source: the host first, then every runner (alive or not) as the API lists them. */
export function sourceCards(stats: SystemStats | null | undefined): SourceCard[] {
  if (!stats) return []
  const cards: SourceCard[] = []
  const h = stats.host
  if (h) {
    cards.push({
      source: h.source,
      kind: 'host',
      title: `Host ${h.name}`,
      subtitle: h.source,
      alive: true,
      cpuPercent: h.cpu_percent,
      memoryUsedMb: h.memory_used_mb,
      memoryTotalMb: h.memory_total_mb,
      memoryPercent: percent(h.memory_used_mb, h.memory_total_mb),
      load: h.load_avg,
      disks: h.disk ? [disk('data', h.disk)] : [],
      jobs: null,
      lastHeartbeat: null,
    })
  }
  for (const r of stats.runners ?? []) {
    cards.push({
      source: r.source,
      kind: 'runner',
      title: `Runner ${r.runner_id}`,
      subtitle: `on ${r.host}`,
      alive: r.alive,
      cpuPercent: r.cpu_percent,
      memoryUsedMb: r.memory_used_mb,
      memoryTotalMb: r.memory_total_mb,
      memoryPercent: percent(r.memory_used_mb, r.memory_total_mb),
      load: r.load_avg,
      disks: (r.disks ?? []).map((d) => disk(d.role, d)),
      jobs: r.running_jobs === null && r.slots === null ? null : `${r.running_jobs ?? '–'} / ${r.slots ?? '–'}`,
      lastHeartbeat: r.last_heartbeat,
    })
  }
  return cards
}

export interface SourceLine {
  source: string
  /** [epoch ms, value] pairs, oldest first; null values are gaps. */
  data: [number, number | null][]
}

export interface SystemSeries {
  lines: SourceLine[]
  /** What the chart plots: per source, [ISO time, value] pairs as the API gave them. */
  points: Record<string, [string, number | null][]>
  empty: boolean
}

/** A figure of the series' points as one line per source; empty when no point has a value for it. */
export function systemSeries(stats: SystemStats | null | undefined, field: 'cpu_percent' | 'memory_used_mb'): SystemSeries {
  const bySource = new Map<string, SourceLine>()
  const points: Record<string, [string, number | null][]> = {}
  let any = false
  for (const p of stats?.series?.points ?? []) {
    const at = parseApiTime(p.at)
    if (!at) continue
    const value = typeof p[field] === 'number' ? p[field] : null
    if (value !== null) any = true
    let line = bySource.get(p.source)
    if (!line) {
      line = { source: p.source, data: [] }
      bySource.set(p.source, line)
      points[p.source] = []
    }
    line.data.push([at.getTime(), value])
    points[p.source].push([p.at, value])
  }
  return { lines: [...bySource.values()], points, empty: !any }
}

/** Whether an automatic refresh is due: never while the tab is hidden, else once `intervalMs` has passed. */
export function refreshDue(lastAt: number | null, now: number, visibility: DocumentVisibilityState, intervalMs: number): boolean {
  if (visibility === 'hidden') return false
  return lastAt === null || now - lastAt >= intervalMs
}

// ECharts options, built from the series above (kept here so the page only wires them).

const axisText = { color: '#616e7c' }

export function pieOption(pie: PieSeries) {
  return {
    tooltip: { trigger: 'item', formatter: '{b}: {c} ({d}%)' },
    legend: { bottom: 0, textStyle: axisText },
    series: [{ type: 'pie', radius: ['40%', '68%'], center: ['50%', '45%'], avoidLabelOverlap: true, label: { formatter: '{b}: {c}' }, data: pie.slices.map((s) => ({ ...s, label: { show: s.value > 0 }, labelLine: { show: s.value > 0 } })) }],
  }
}

export function sevenDayOption(days: DaySeries) {
  const p = days.points ?? { dates: [], success_counts: [], failed_counts: [] }
  return {
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0, textStyle: axisText },
    grid: { left: 40, right: 16, top: 16, bottom: 56 },
    xAxis: { type: 'category', data: p.dates.map((d) => d.slice(5)), axisLabel: axisText },
    yAxis: { type: 'value', minInterval: 1, axisLabel: axisText },
    series: [
      { name: 'Succeeded', type: 'bar', stack: 'runs', data: p.success_counts, itemStyle: { color: outcomeColors.success } },
      { name: 'Failed', type: 'bar', stack: 'runs', data: p.failed_counts, itemStyle: { color: outcomeColors.failed } },
    ],
  }
}

export function hourLineOption(series: HourSeries, name: string, unit: string, color: string, max?: number | null) {
  return {
    tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => (typeof v === 'number' ? `${v} ${unit}` : '–') },
    grid: { left: 56, right: 16, top: 16, bottom: 32 },
    xAxis: { type: 'category', data: series.labels, axisLabel: axisText, boundaryGap: false },
    yAxis: { type: 'value', minInterval: unit === 'runs' ? 1 : undefined, max: max ?? undefined, axisLabel: axisText },
    series: [{ name, type: 'line', data: series.values, connectNulls: false, showSymbol: true, symbolSize: 5, itemStyle: { color }, areaStyle: { opacity: 0.08 } }],
  }
}

const lineColors = ['#2563eb', '#2e7d32', '#b26a00', '#7c3aed', '#c62828', '#0891b2']

export function systemLineOption(series: SystemSeries, unit: string, max?: number) {
  return {
    tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => (typeof v === 'number' ? `${v} ${unit}` : '–') },
    legend: { bottom: 0, textStyle: axisText, type: 'scroll' },
    grid: { left: 56, right: 16, top: 16, bottom: 56 },
    xAxis: { type: 'time', axisLabel: { ...axisText, hideOverlap: true } },
    yAxis: { type: 'value', min: 0, max, axisLabel: axisText },
    // Symbols while a line has few points: a lone sample between gaps is otherwise invisible.
    series: series.lines.map((l, i) => ({
      name: l.source,
      type: 'line',
      showSymbol: l.data.length < 60,
      symbolSize: 4,
      data: l.data,
      connectNulls: false,
      itemStyle: { color: lineColors[i % lineColors.length] },
    })),
  }
}
