/** Human-readable sizes and durations shared by every page. */

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB']

/**
 * 1500 -> "1.5 KB": decimal units computed as decimal (1 MB = 1,000,000 bytes), as file managers and
 * disk makers count, so a size reads the same here as on the sender's computer.
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–'
  if (bytes < 1000) return `${bytes} B`
  let value = bytes
  let unit = 0
  while (value >= 999.5 && unit < UNITS.length - 1) {
    value /= 1000
    unit++
  }
  return `${value >= 99.95 ? value.toFixed(0) : value.toFixed(1)} ${UNITS[unit]}`
}

/** Bytes per second -> "12.3 MB/s". */
export function formatSpeed(bytesPerSecond: number): string {
  return `${formatBytes(Math.max(0, bytesPerSecond))}/s`
}

/** Seconds -> "45 s", "3 min 20 s", "2 h 5 min", "3 days". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–'
  const s = Math.round(seconds)
  if (s < 60) return `${s} s`
  if (s < 3600) {
    const m = Math.floor(s / 60)
    const rest = s % 60
    return rest ? `${m} min ${rest} s` : `${m} min`
  }
  if (s < 86400) {
    const h = Math.floor(s / 3600)
    const m = Math.floor((s % 3600) / 60)
    return m ? `${h} h ${m} min` : `${h} h`
  }
  const d = Math.round(s / 86400)
  return d === 1 ? '1 day' : `${d} days`
}

/**
 * A wait in words, for "try again …": 2747 -> "in 46 minutes", 20 -> "in 20 seconds" (rounded up:
 * trying earlier would fail again).
 */
export function formatWait(seconds: number): string {
  const words = new Intl.RelativeTimeFormat('en', { numeric: 'always' })
  const s = Math.max(1, Math.ceil(seconds))
  if (s < 60) return words.format(s, 'second')
  if (s < 3600) return words.format(Math.ceil(s / 60), 'minute')
  if (s < 86_400) return words.format(Math.ceil(s / 3600), 'hour')
  return words.format(Math.ceil(s / 86_400), 'day')
}

/** An expiry choice in seconds -> "1 hour", "1 day", "7 days" (for option lists). */
export function formatPeriod(seconds: number): string {
  const units: [number, string][] = [
    [604800, 'week'],
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ]
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size
      return `${n} ${name}${n === 1 ? '' : 's'}`
    }
  }
  return formatDuration(seconds)
}

/** An ISO date in the future -> "in 23 h 59 min" (or "expired"). */
export function formatExpiry(iso: string, now = Date.now()): string {
  const left = (Date.parse(iso) - now) / 1000
  if (!Number.isFinite(left)) return '–'
  if (left <= 0) return 'expired'
  return `in ${formatDuration(left)}`
}

/** ISO date -> local date and time, for a title/tooltip. */
export function formatDateTime(iso: string): string {
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString()
}
