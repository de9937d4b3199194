import { describe, expect, it } from 'vitest'
import { formatBytes, formatDuration, formatExpiry, formatPeriod, formatWait } from './format'

describe('human-readable figures', () => {
  it('sizes are decimal units computed as decimal (what the sender\'s file manager shows)', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(999)).toBe('999 B')
    expect(formatBytes(1500)).toBe('1.5 KB')
    expect(formatBytes(75_000)).toBe('75.0 KB')
    expect(formatBytes(100_000_000)).toBe('100 MB')
    // 2 500 MiB is 2.6 GB, not "2.4 GB"
    expect(formatBytes(2500 * 1024 ** 2)).toBe('2.6 GB')
    expect(formatBytes(999_999)).toBe('1.0 MB')
    expect(formatBytes(-1)).toBe('–')
  })

  it('waits in words: "try again in 46 minutes", never "2747 s"', () => {
    expect(formatWait(2747)).toBe('in 46 minutes')
    expect(formatWait(20)).toBe('in 20 seconds')
    expect(formatWait(0.2)).toBe('in 1 second')
    expect(formatWait(3600)).toBe('in 1 hour')
    expect(formatWait(5 * 3600 + 1)).toBe('in 6 hours')
    expect(formatWait(2 * 86_400)).toBe('in 2 days')
  })

  it('durations and expiry choices', () => {
    expect(formatDuration(42)).toBe('42 s')
    expect(formatDuration(200)).toBe('3 min 20 s')
    expect(formatDuration(7500)).toBe('2 h 5 min')
    expect(formatDuration(3 * 86400)).toBe('3 days')
    expect(formatPeriod(3600)).toBe('1 hour')
    expect(formatPeriod(86400)).toBe('1 day')
    expect(formatPeriod(7 * 86400)).toBe('1 week')
    expect(formatPeriod(3 * 86400)).toBe('3 days')
  })

  it('an expiry in the past says so', () => {
    const now = Date.parse('2030-01-01T00:00:00Z')
    expect(formatExpiry('2030-01-01T01:00:00Z', now)).toBe('in 1 h')
    expect(formatExpiry('2029-12-31T23:00:00Z', now)).toBe('expired')
  })
})
