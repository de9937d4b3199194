import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Counter } from './counters'

/** Counters under test: `open` twice with one prefix gives two instances' views of one count. */
export interface CounterSubject {
  open(prefix: string, seconds: number): Counter
  close(): Promise<void>
}

/** The behaviour every Counter must have (STYLE.md §1), run against memory, Redis and the database. */
export function counterContract(name: string, opts: { shared: boolean }, subject: () => Promise<CounterSubject>): void {
  describe(`${name} counter (contract)`, () => {
    let s: CounterSubject
    const fresh = () => `k-${randomBytes(6).toString('hex')}`
    const prefix = () => `t-${randomBytes(4).toString('hex')}`
    beforeAll(async () => {
      s = await subject()
    })
    afterAll(() => s?.close())

    it('a budget of 3 allows 3 and refuses the 4th, saying when the window resets', async () => {
      const c = s.open(prefix(), 60)
      const key = fresh()
      const taken = []
      for (let i = 0; i < 4; i++) taken.push(await c.take(key, 1, 3))
      expect(taken.map((t) => t.allowed)).toEqual([true, true, true, false])
      expect(taken[2]!.used).toBe(3)
      expect(taken[3]!.msBeforeReset).toBeGreaterThan(50_000)
      expect(taken[3]!.msBeforeReset).toBeLessThanOrEqual(60_000)
    })

    it('points given back can be taken again, and each key has its own budget', async () => {
      const c = s.open(prefix(), 60)
      const [a, b] = [fresh(), fresh()]
      expect((await c.take(a, 700, 1000)).allowed).toBe(true)
      expect((await c.take(b, 1000, 1000)).allowed).toBe(true)
      await c.give(a, 500)
      expect((await c.take(a, 800, 1000)).allowed).toBe(true)
    })

    it('a lower limit set at run time applies to what was counted before', async () => {
      const c = s.open(prefix(), 60)
      const key = fresh()
      expect((await c.take(key, 5, 100)).allowed).toBe(true)
      expect((await c.take(key, 1, 5)).allowed).toBe(false)
    })

    it('cleared, a key starts over', async () => {
      const c = s.open(prefix(), 60)
      const key = fresh()
      expect((await c.take(key, 3, 3)).allowed).toBe(true)
      await c.clear(key)
      expect((await c.take(key, 3, 3)).allowed).toBe(true)
    })

    it('a window that has passed starts over', async () => {
      const c = s.open(prefix(), 1)
      const key = fresh()
      expect((await c.take(key, 2, 2)).allowed).toBe(true)
      expect((await c.take(key, 1, 2)).allowed).toBe(false)
      await new Promise((r) => setTimeout(r, 1100))
      expect((await c.take(key, 2, 2)).allowed).toBe(true)
    })

    if (opts.shared) it('two instances on one store share the count (20 concurrent takes of a budget of 5: exactly 5 allowed)', async () => {
      const p = prefix()
      const [one, two] = [s.open(p, 60), s.open(p, 60)]
      const key = fresh()
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? one : two).take(key, 1, 5)))
      // A rate counter counts refusals too; what matters is that exactly 5 were allowed.
      expect(results.filter((r) => r.allowed)).toHaveLength(5)
    })
  })
}
