import { describe, expect, it } from 'vitest'
import { SecondMemo } from './second-memo'

function setup(maxEntries?: number) {
  let now = 1_000_000_000
  let computed = 0
  const memo = new SecondMemo<string>({ maxEntries, now: () => now })
  const sign = (key: string) => memo.get(key, async () => `${key}@${Math.floor(now / 1000)}#${++computed}`)
  return { memo, sign, advance: (ms: number) => (now += ms), computed: () => computed }
}

describe('a signed URL kept for the rest of its second', () => {
  it('is computed once within a second and again in the next one', async () => {
    const { sign, advance, computed } = setup()
    const first = await sign('k/a')
    advance(999)
    expect(await sign('k/a')).toBe(first)
    expect(computed()).toBe(1)
    advance(1)
    const next = await sign('k/a')
    expect(next).not.toBe(first)
    expect(next).toContain('@1000001')
    expect(computed()).toBe(2)
  })

  it('keeps each key apart, and forgets every key when the second is over', async () => {
    const { memo, sign, advance } = setup()
    expect(await sign('k/a')).not.toBe(await sign('k/b'))
    expect(memo.size).toBe(2)
    advance(1000)
    await sign('k/a')
    expect(memo.size).toBe(1)
  })

  it('does not keep a failure: the next request computes again', async () => {
    const { memo } = setup()
    await expect(memo.get('k/a', async () => Promise.reject(new Error('store down')))).rejects.toThrow('store down')
    await Promise.resolve()
    expect(await memo.get('k/a', async () => 'signed')).toBe('signed')
  })

  it('holds at most maxEntries keys; the rest are computed each time', async () => {
    const { memo, sign, computed } = setup(2)
    await sign('k/a')
    await sign('k/b')
    await sign('k/c')
    await sign('k/c')
    expect(memo.size).toBe(2)
    expect(computed()).toBe(4)
  })
})
