import type { Deps } from '../deps'

export type Dependency = 'db' | 'storage' | 'redis'

export interface Readiness {
  ready: boolean
  draining: boolean
  /** dependencies the instance cannot serve without, whose last check failed or timed out */
  failing: Dependency[]
  /** dependencies it serves without, in a lesser way (Redis: rate limits count per instance) */
  degraded: Dependency[]
}

export interface HealthOptions {
  /** a check result is reused for this long (a balancer polling every instance often must not load them) */
  cacheMs?: number
  /** a check that takes longer counts as failed, and is cancelled where the client allows it */
  timeoutMs?: number
}

interface Probe {
  name: Dependency
  /** without it the instance cannot serve: readiness fails */
  critical: boolean
  run(signal: AbortSignal): Promise<void>
}

/**
 * Readiness a balancer can trust: each dependency is probed at most once per `cacheMs` and never
 * twice at a time, however many requests ask, and a probe that hangs is cut off at `timeoutMs`
 * (a hung S3 or database answers "not ready" quickly instead of piling up calls). Once shutdown
 * starts, the instance reports itself draining so balancers stop sending it new work.
 */
export class HealthChecks {
  private readonly probes: Probe[]
  private readonly cacheMs: number
  private readonly timeoutMs: number
  private last: { at: number; failing: Dependency[] } | null = null
  private inFlight: Promise<Dependency[]> | null = null
  private drainingSince: number | null = null

  constructor(deps: Pick<Deps, 'db' | 'store' | 'redis'>, opts: HealthOptions = {}) {
    this.cacheMs = opts.cacheMs ?? 3000
    this.timeoutMs = opts.timeoutMs ?? 2000
    const { db, store, redis } = deps
    this.probes = [
      { name: 'db', critical: true, run: () => db.ping() },
      { name: 'storage', critical: true, run: (signal) => store.ping(signal) },
      // Redis accelerates (shared rate limits, rooms across instances); without it an instance
      // still serves, so a Redis outage must not make every instance unready at once.
      ...(redis ? [{ name: 'redis' as const, critical: false, run: async () => void (await redis.ping()) }] : []),
    ]
  }

  /** From now on readiness answers "draining" (called when shutdown begins). */
  drain(): void {
    this.drainingSince ??= Date.now()
  }

  get draining(): boolean {
    return this.drainingSince !== null
  }

  async readiness(): Promise<Readiness> {
    const down = await this.down()
    const critical = new Set(this.probes.filter((p) => p.critical).map((p) => p.name))
    const failing = down.filter((d) => critical.has(d))
    const degraded = down.filter((d) => !critical.has(d))
    return { ready: failing.length === 0 && !this.draining, draining: this.draining, failing, degraded }
  }

  private down(): Promise<Dependency[]> {
    if (this.last && Date.now() - this.last.at < this.cacheMs) return Promise.resolve(this.last.failing)
    this.inFlight ??= this.checkAll().then((failing) => {
      this.last = { at: Date.now(), failing }
      this.inFlight = null
      return failing
    })
    return this.inFlight
  }

  private async checkAll(): Promise<Dependency[]> {
    const results = await Promise.all(this.probes.map(async (p) => ((await this.check(p)) ? null : p.name)))
    return results.filter((r): r is Dependency => r !== null)
  }

  /** true when the probe answered in time; a late probe is aborted and counts as failed. */
  private async check(probe: Probe): Promise<boolean> {
    const controller = new AbortController()
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => {
        controller.abort()
        resolve(false)
      }, this.timeoutMs)
    })
    try {
      return await Promise.race([probe.run(controller.signal).then(() => true, () => false), timeout])
    } finally {
      clearTimeout(timer)
    }
  }
}
