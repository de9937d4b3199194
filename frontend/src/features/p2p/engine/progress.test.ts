import { describe, expect, it } from 'vitest'
import { ProgressMeter } from './progress'

describe('transfer progress', () => {
  it('shows speed and time left from recent samples', () => {
    let now = 0
    const meter = new ProgressMeter(100 * 2 ** 20, 3000, () => now)
    for (let s = 0; s <= 10; s++) {
      now = s * 1000
      meter.update(s * 5 * 2 ** 20) // 5 MiB/s
    }
    const p = meter.snapshot()
    expect(p.speed).toBeCloseTo(5 * 2 ** 20, -3)
    expect(p.eta).toBeCloseTo(10, 0) // 50 MiB left at 5 MiB/s
  })

  it('follows a change of speed within its window', () => {
    let now = 0
    const meter = new ProgressMeter(1e9, 3000, () => now)
    let bytes = 0
    for (let s = 0; s < 10; s++) {
      now = s * 1000
      bytes += 10e6
      meter.update(bytes)
    }
    for (let s = 10; s < 20; s++) {
      now = s * 1000
      bytes += 1e6
      meter.update(bytes)
    }
    expect(meter.snapshot().speed).toBeCloseTo(1e6, -4)
  })

  it('reports an unknown time left before any speed is known, and zero at the end', () => {
    const meter = new ProgressMeter(1000, 3000, () => 0)
    expect(meter.snapshot().eta).toBe(Infinity)
    meter.update(1000)
    expect(meter.snapshot().eta).toBe(0)
  })
})
