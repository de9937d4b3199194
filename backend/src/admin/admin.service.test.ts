import { describe, expect, it } from 'vitest'
import { rangeOf } from './admin.service'

const NOW = Date.parse('2026-03-01T10:00:00Z')

describe('stats day range', () => {
  it('is the last 30 UTC days, today included, when no day is given', () => {
    expect(rangeOf({}, NOW)).toEqual({ from: '2026-01-31', to: '2026-03-01' })
  })
  it('runs 30 days from `from`, or 30 days up to `to`, when only one end is given', () => {
    expect(rangeOf({ from: '2026-02-01' }, NOW)).toEqual({ from: '2026-02-01', to: '2026-03-02' })
    expect(rangeOf({ to: '2025-12-31' }, NOW)).toEqual({ from: '2025-12-02', to: '2025-12-31' })
  })
  it('keeps both ends when both are given (a one-day range included)', () => {
    expect(rangeOf({ from: '2026-02-28', to: '2026-02-28' }, NOW)).toEqual({ from: '2026-02-28', to: '2026-02-28' })
  })
})
