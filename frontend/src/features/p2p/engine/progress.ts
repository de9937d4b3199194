/**
 * Speed and time left from a sliding window of samples: steady enough to read, quick to follow a
 * change of network.
 */
export interface Progress {
  bytes: number
  total: number
  /** bytes per second over the last few seconds */
  speed: number
  /** seconds left at the current speed (Infinity while unknown) */
  eta: number
}

export class ProgressMeter {
  private samples: { t: number; bytes: number }[] = []
  private bytes = 0

  constructor(
    readonly total: number,
    private readonly windowMs = 3000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  update(bytes: number): void {
    this.bytes = bytes
    const t = this.now()
    this.samples.push({ t, bytes })
    while (this.samples.length > 2 && t - this.samples[0]!.t > this.windowMs) this.samples.shift()
  }

  snapshot(): Progress {
    const first = this.samples[0]
    const last = this.samples[this.samples.length - 1]
    const dt = first && last ? (last.t - first.t) / 1000 : 0
    const speed = dt > 0.2 && first && last ? (last.bytes - first.bytes) / dt : 0
    const left = Math.max(0, this.total - this.bytes)
    return { bytes: this.bytes, total: this.total, speed, eta: left === 0 ? 0 : speed > 0 ? left / speed : Infinity }
  }
}
