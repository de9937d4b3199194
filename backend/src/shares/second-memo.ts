/**
 * Values that only change with the wall-clock second, kept for the rest of that second. A signed
 * download URL is one: both stores count its expiry in whole seconds from the second it is signed
 * in, so every URL signed within one second for the same object, name, type and lifetime is the same
 * string. A popular link is then signed once a second instead of once per download, and nothing
 * signed is kept past its second. A failed computation is not kept.
 */
export class SecondMemo<T> {
  private second = Number.NaN
  private readonly entries = new Map<string, Promise<T>>()
  private readonly maxEntries: number
  private readonly now: () => number

  constructor(o: { maxEntries?: number; now?: () => number } = {}) {
    this.maxEntries = o.maxEntries ?? 10_000
    this.now = o.now ?? Date.now
  }

  get(key: string, compute: () => Promise<T>): Promise<T> {
    const second = Math.floor(this.now() / 1000)
    if (second !== this.second) {
      this.entries.clear()
      this.second = second
    }
    const kept = this.entries.get(key)
    if (kept) return kept
    const value = compute()
    if (this.entries.size < this.maxEntries) {
      this.entries.set(key, value)
      value.catch(() => {
        if (this.entries.get(key) === value) this.entries.delete(key)
      })
    }
    return value
  }

  get size(): number {
    return this.entries.size
  }
}
