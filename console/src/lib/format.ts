// Formatting shared by the pages. Pure functions, unit-tested in tests/unit/format.test.ts.

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '–'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = Math.abs(bytes)
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  const sign = bytes < 0 ? '-' : ''
  return `${sign}${unit === 0 ? value.toFixed(0) : value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–'
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`
  const m = Math.floor(seconds / 60)
  const s = Math.round(seconds % 60)
  if (m < 60) return `${m} min ${s} s`
  const h = Math.floor(m / 60)
  return `${h} h ${m % 60} min`
}

/** A time from the API (ISO 8601, or the seeds' "yyyy-MM-dd HH:mm:ss" in UTC) in the browser's locale. */
export function formatTime(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '–'
  const d = parseTime(value)
  return d ? d.toLocaleString() : String(value)
}

export function parseTime(value: string | number): Date | null {
  if (typeof value === 'number') return new Date(value < 1e12 ? value * 1000 : value)
  // The seeds' "yyyy-MM-dd HH:mm:ss" carries no offset; the host writes it in UTC.
  const seed = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$/.exec(value)
  const d = new Date(seed ? `${seed[1]}T${seed[2]}Z` : value)
  return Number.isNaN(d.getTime()) ? null : d
}
