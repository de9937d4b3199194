import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { i18n, i18nReady } from '../i18n'
import { formatBytes, formatDuration, formatExpiry, formatPeriod, formatSpeed, formatWait } from './format'

beforeAll(async () => {
  await i18nReady
  await i18n.changeLanguage('en')
})

describe('human-readable figures', () => {
  it('sizes are decimal units computed as decimal (what the sender\'s file manager shows)', () => {
    expect(formatBytes(0)).toBe('0 bytes')
    expect(formatBytes(999)).toBe('999 bytes')
    expect(formatBytes(1500)).toBe('1.5 kB')
    expect(formatBytes(75_000)).toBe('75.0 kB')
    expect(formatBytes(100_000_000)).toBe('100 MB')
    // 2 500 MiB is 2.6 GB, not "2.4 GB"
    expect(formatBytes(2500 * 1024 ** 2)).toBe('2.6 GB')
    expect(formatBytes(999_999)).toBe('1.0 MB')
    expect(formatBytes(-1)).toBe('–')
    expect(formatSpeed(12_300_000)).toBe('12.3 MB/s')
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
    expect(formatDuration(42)).toBe('42 sec')
    expect(formatDuration(200)).toBe('3 min 20 sec')
    expect(formatDuration(7500)).toBe('2 hr 5 min')
    expect(formatDuration(3 * 86400)).toBe('3 days')
    expect(formatPeriod(3600)).toBe('1 hour')
    expect(formatPeriod(86400)).toBe('1 day')
    expect(formatPeriod(7 * 86400)).toBe('1 week')
    expect(formatPeriod(3 * 86400)).toBe('3 days')
  })

  it('an expiry in the past says so', () => {
    const now = Date.parse('2030-01-01T00:00:00Z')
    expect(formatExpiry('2030-01-01T01:00:00Z', now)).toBe('in 1 hr')
    expect(formatExpiry('2029-12-31T23:00:00Z', now)).toBe('expired')
  })
})

describe('figures follow the chosen language', () => {
  afterAll(async () => {
    await i18n.changeLanguage('en')
  })

  it('German: decimal comma, German units and words', async () => {
    await i18n.changeLanguage('de')
    expect(formatBytes(1500)).toBe('1,5 kB')
    expect(formatSpeed(12_300_000)).toBe('12,3 MB/s')
    expect(formatPeriod(7 * 86400)).toBe('1 Woche')
    expect(formatWait(2747)).toBe('in 46 Minuten')
    const now = Date.parse('2030-01-01T00:00:00Z')
    expect(formatExpiry('2029-12-31T23:00:00Z', now)).toBe('abgelaufen')
  })

  it('French sizes are in octets; Chinese durations read in Chinese', async () => {
    await i18n.changeLanguage('fr')
    expect(formatBytes(1_500_000)).toBe('1,5\u202fMo')
    await i18n.changeLanguage('zh-CN')
    expect(formatPeriod(3 * 86400)).toBe('3天')
    expect(formatWait(2747)).toBe('46分钟后')
    const now = Date.parse('2030-01-01T00:00:00Z')
    expect(formatExpiry('2030-01-01T01:00:00Z', now)).toBe('1小时后')
  })
})
