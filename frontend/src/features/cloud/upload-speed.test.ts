import { describe, expect, it } from 'vitest'
import { SpeedMeter } from './upload-speed'

const MiB = 2 ** 20

describe('upload speed', () => {
  it('is the rate over the last few seconds, not since the start', () => {
    const speed = new SpeedMeter(5000)
    // 10 s at 1 MiB/s, then 5 s at 4 MiB/s: the window sees only the fast part.
    let bytes = 0
    for (let t = 0; t <= 10_000; t += 500) speed.add(t, (bytes = (t / 1000) * MiB))
    for (let t = 10_500; t <= 15_000; t += 500) speed.add(t, (bytes += 2 * MiB))
    expect(speed.rate(15_000)).toBeCloseTo(4 * MiB, -4)
  })

  it('falls to zero when nothing moves, instead of freezing at its last value', () => {
    const speed = new SpeedMeter(5000)
    for (let t = 0; t <= 3000; t += 500) speed.add(t, (t / 1000) * MiB)
    expect(speed.rate(3000)).toBeCloseTo(MiB, -4)
    expect(speed.rate(7000)).toBeLessThan(MiB / 2)
    expect(speed.rate(20_000)).toBe(0)
  })

  it('says nothing (0) before a second of samples', () => {
    const speed = new SpeedMeter()
    speed.add(0, 0)
    speed.add(300, 50 * MiB)
    expect(speed.rate(300)).toBe(0)
  })
})
