/**
 * Human-readable sizes, speeds, durations and dates shared by every page, in the app's current
 * language (Intl's own units and words: "1,5 Mo" in French, "3 Min., 20 s" in German, "46分钟后").
 */
import { currentLanguage, i18n } from '../i18n'

type Unit = 'byte' | 'kilobyte' | 'megabyte' | 'gigabyte' | 'terabyte'
const UNITS: Unit[] = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte']

function unit(value: number, name: string, display: 'short' | 'long' = 'short', fractionDigits = 0): string {
  return new Intl.NumberFormat(currentLanguage(), {
    style: 'unit',
    unit: name,
    unitDisplay: display,
    minimumFractionDigits: fractionDigits,
    maximumFractionDigits: fractionDigits,
  }).format(value)
}

/** 1500 -> 1.5 and 'kilobyte': decimal units computed as decimal (1 MB = 1,000,000 bytes). */
function scale(bytes: number): { value: number; unit: Unit; digits: number } {
  if (bytes < 1000) return { value: bytes, unit: 'byte', digits: 0 }
  let value = bytes
  let u = 0
  while (value >= 999.5 && u < UNITS.length - 1) {
    value /= 1000
    u++
  }
  return { value, unit: UNITS[u]!, digits: value >= 99.95 ? 0 : 1 }
}

/**
 * 1500 -> "1.5 kB": decimal units computed as decimal (1 MB = 1,000,000 bytes), as file managers and
 * disk makers count, so a size reads the same here as on the sender's computer.
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–'
  const s = scale(bytes)
  return s.unit === 'byte' ? unit(bytes, 'byte', 'long') : unit(s.value, s.unit, 'short', s.digits)
}

/** Bytes per second -> "12.3 MB/s". */
export function formatSpeed(bytesPerSecond: number): string {
  const s = scale(Math.max(0, Number.isFinite(bytesPerSecond) ? bytesPerSecond : 0))
  return unit(s.value, `${s.unit}-per-second`, 'short', s.digits)
}

function joinUnits(parts: string[]): string {
  return new Intl.ListFormat(currentLanguage(), { type: 'unit', style: 'narrow' }).format(parts)
}

/** Seconds -> "45 sec", "3 min 20 sec", "2 hr 5 min", "3 days". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–'
  const s = Math.round(seconds)
  if (s < 60) return unit(s, 'second')
  if (s < 3600) {
    const m = Math.floor(s / 60)
    const rest = s % 60
    return rest ? joinUnits([unit(m, 'minute'), unit(rest, 'second')]) : unit(m, 'minute')
  }
  if (s < 86400) {
    const h = Math.floor(s / 3600)
    const m = Math.floor((s % 3600) / 60)
    return m ? joinUnits([unit(h, 'hour'), unit(m, 'minute')]) : unit(h, 'hour')
  }
  return unit(Math.round(s / 86400), 'day', 'long')
}

/**
 * A wait in words, for "try again …": 2747 -> "in 46 minutes", 20 -> "in 20 seconds" (rounded up:
 * trying earlier would fail again).
 */
export function formatWait(seconds: number): string {
  const words = new Intl.RelativeTimeFormat(currentLanguage(), { numeric: 'always' })
  const s = Math.max(1, Math.ceil(seconds))
  if (s < 60) return words.format(s, 'second')
  if (s < 3600) return words.format(Math.ceil(s / 60), 'minute')
  if (s < 86_400) return words.format(Math.ceil(s / 3600), 'hour')
  return words.format(Math.ceil(s / 86_400), 'day')
}

/** An expiry choice in seconds -> "1 hour", "1 day", "1 week", "1 year" (for option lists). */
export function formatPeriod(seconds: number): string {
  const units: [number, string][] = [
    [31_536_000, 'year'],
    [604800, 'week'],
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ]
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) return unit(seconds / size, name, 'long')
  }
  return formatDuration(seconds)
}

/** An ISO date in the future -> "in 23 hr 59 min" (or "expired"). */
export function formatExpiry(iso: string, now = Date.now()): string {
  const left = (Date.parse(iso) - now) / 1000
  if (!Number.isFinite(left)) return '–'
  if (left <= 0) return i18n.t('format.expired')
  return i18n.t('format.inDuration', { duration: formatDuration(left) })
}

/** ISO date -> local date and time, for a title/tooltip. */
export function formatDateTime(iso: string): string {
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(currentLanguage())
}

/** ISO date -> local date only. */
export function formatDate(iso: string): string {
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString(currentLanguage())
}

/** ISO date -> local time only. */
export function formatTime(iso: string | number): string {
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString(currentLanguage())
}

/** A count with the language's digit grouping: 12345 -> "12,345" (en), "12.345" (de). */
export function formatNumber(n: number): string {
  return n.toLocaleString(currentLanguage())
}
