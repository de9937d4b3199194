import { describe, expect, it } from 'vitest'
import { formatBytes, formatDuration, formatExpiry, formatPeriod } from './format'

describe('human-readable figures', () => {
  it('sizes read the way people read them', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(1023)).toBe('1023 B')
    expect(formatBytes(1536)).toBe('1.5 KB')
    expect(formatBytes(100 * 1024 * 1024)).toBe('100 MB')
    expect(formatBytes(4.2 * 1024 ** 3)).toBe('4.2 GB')
    expect(formatBytes(-1)).toBe('–')
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
