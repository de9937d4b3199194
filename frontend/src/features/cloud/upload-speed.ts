/**
 * Upload speed over a moving window of the bytes sent in this session: bytes that were already on
 * the server when the page (re)started never count, and a pause (offline, rate limited, stalled)
 * lets the speed fall to zero instead of freezing at its last value.
 */
export class SpeedMeter {
  private samples: { t: number; bytes: number }[] = []

  constructor(private readonly windowMs = 5000) {}

  /** Records the bytes sent so far in this session, at time `t` (ms). */
  add(t: number, bytes: number): void {
    const last = this.samples[this.samples.length - 1]
    if (last && t <= last.t) {
      last.bytes = Math.max(last.bytes, bytes)
      return
    }
    this.samples.push({ t, bytes })
    while (this.samples.length > 2 && t - this.samples[1]!.t >= this.windowMs) this.samples.shift()
  }

  /** Bytes per second over the last window, as of `t`; 0 until there is a second's worth of samples. */
  rate(t: number): number {
    const first = this.samples.find((s) => t - s.t <= this.windowMs) ?? this.samples[this.samples.length - 1]
    const last = this.samples[this.samples.length - 1]
    if (!first || !last) return 0
    // Measured up to now, not to the last sample: nothing sent lately means a falling speed.
    const span = t - first.t
    if (span < 1000) return 0
    return Math.max(0, ((last.bytes - first.bytes) * 1000) / span)
  }

  /** Forget everything (after a pause: the time spent waiting is not part of the speed). */
  reset(): void {
    this.samples = []
  }
}
