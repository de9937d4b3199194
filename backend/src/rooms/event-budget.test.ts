import { describe, expect, it } from 'vitest'
import { EventBudget } from './event-budget'

describe('per-socket event budget', () => {
  const rule = { burst: 10, perSecond: 5, maxStrikes: 3, strikeWindowMs: 10_000 }

  it('lets a burst through, refills over time, and throttles in between', () => {
    let now = 0
    const budget = new EventBudget(rule, () => now)
    for (let i = 0; i < 10; i++) expect(budget.take()).toBe('ok')
    expect(budget.take()).toBe('throttled')
    now += 1000 // 5 more tokens
    for (let i = 0; i < 5; i++) expect(budget.take()).toBe('ok')
    expect(budget.take()).toBe('throttled')
  })

  it('asks for a disconnect when a socket keeps pushing past its budget', () => {
    let now = 0
    const budget = new EventBudget(rule, () => now)
    for (let i = 0; i < 10; i++) budget.take()
    expect([budget.take(), budget.take(), budget.take()]).toEqual(['throttled', 'throttled', 'throttled'])
    expect(budget.take()).toBe('disconnect')
    now += 20_000 // strikes are forgiven after the window
    for (let i = 0; i < 10; i++) expect(budget.take()).toBe('ok')
    expect(budget.take()).toBe('throttled')
  })

  it('counts sizes as well as events: a byte budget lets small signals through and stops a stream of big ones', () => {
    let now = 0
    const bytes = new EventBudget({ burst: 256 * 1024, perSecond: 32 * 1024, maxStrikes: 100, strikeWindowMs: 10_000 }, () => now)
    for (let i = 0; i < 4; i++) expect(bytes.take(64 * 1024)).toBe('ok')
    expect(bytes.take(64 * 1024)).toBe('throttled')
    expect(bytes.take(300)).toBe('throttled') // empty: even a small one waits for the refill
    now += 1000
    for (let i = 0; i < 100; i++) expect(bytes.take(300)).toBe('ok') // 30 KB of candidates in a second
  })
})
