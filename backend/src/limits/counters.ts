import type { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts, type RateLimiterAbstract } from 'rate-limiter-flexible'
import type { Queryable } from '../db/db'
import { quotaRepo } from '../db/quota.repo'

/** What a counter answers: whether the points fit, the total so far, and when the window resets. */
export interface Count {
  allowed: boolean
  used: number
  msBeforeReset: number
}

/**
 * One named counter with fixed windows, whatever keeps it. `take` compares with `limit` itself, so a
 * limit changed at run time applies to the counts so far.
 */
export interface Counter {
  readonly kind: 'memory' | 'redis' | 'database'
  take(key: string, points: number, limit: number): Promise<Count>
  give(key: string, points: number): Promise<void>
  clear(key: string): Promise<void>
}

/** A Redis command slower than this falls back to the per-instance count (a frozen Redis must not stall requests). */
const REDIS_TIMEOUT_MS = 1000

/**
 * Rate limits (rate-limiter-flexible). In Redis when there is one, so every instance shares the
 * count, with a per-instance in-memory count as insurance: while Redis is away (stopped,
 * unreachable, or slower than REDIS_TIMEOUT_MS) each instance limits on its own instead of refusing
 * everything. A refusal still counts (a flood stays limited).
 */
export class RateCounter implements Counter {
  readonly kind: 'memory' | 'redis'
  private readonly limiter: RateLimiterAbstract | RLWrapperTimeouts

  constructor(keyPrefix: string, seconds: number, redis?: Redis) {
    // Never refuses by itself (the points are compared in take): it only counts.
    const opts = { keyPrefix, points: Number.MAX_SAFE_INTEGER, duration: seconds }
    this.kind = redis ? 'redis' : 'memory'
    const memory = new RateLimiterMemory(opts)
    this.limiter = redis
      ? new RLWrapperTimeouts({
          // Failures and timeouts of Redis both end up in the wrapper's insurance (once).
          limiter: new RateLimiterRedis({ ...opts, storeClient: redis, rejectIfRedisNotReady: true }),
          insuranceLimiter: memory,
          timeoutMs: REDIS_TIMEOUT_MS,
        })
      : memory
  }

  async take(key: string, points: number, limit: number): Promise<Count> {
    let res: RateLimiterRes
    try {
      res = await this.limiter.consume(key, points)
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err
      res = err
    }
    return { allowed: res.consumedPoints <= limit, used: res.consumedPoints, msBeforeReset: res.msBeforeNext }
  }

  async give(key: string, points: number): Promise<void> {
    await this.limiter.reward(key, points).catch(() => undefined)
  }

  async clear(key: string): Promise<void> {
    await this.limiter.delete(key).catch(() => undefined)
  }
}

/** Windows that have passed are removed about this often (by whichever instance gets there). */
const PRUNE_EVERY_MS = 3_600_000

/**
 * Quotas that must outlive a Redis restart (the daily byte quota), in the database. A refusal
 * takes nothing: a refused upload stores nothing.
 */
export class DatabaseCounter implements Counter {
  readonly kind = 'database' as const
  private nextPrune = 0

  constructor(
    private readonly db: Queryable,
    private readonly keyPrefix: string,
    private readonly seconds: number,
  ) {}

  private key(key: string): string {
    return `${this.keyPrefix}:${key}`
  }

  async take(key: string, points: number, limit: number): Promise<Count> {
    const taken = await quotaRepo.take(this.db, this.key(key), points, limit, this.seconds)
    if (Date.now() > this.nextPrune) {
      this.nextPrune = Date.now() + PRUNE_EVERY_MS
      void quotaRepo.prune(this.db).catch(() => undefined)
    }
    const usage = taken ?? (await quotaRepo.get(this.db, this.key(key)))
    return {
      allowed: taken !== null,
      used: usage?.used ?? 0,
      msBeforeReset: usage ? Math.max(0, usage.resets_at.getTime() - Date.now()) : this.seconds * 1000,
    }
  }

  async give(key: string, points: number): Promise<void> {
    await quotaRepo.give(this.db, this.key(key), points)
  }

  async clear(key: string): Promise<void> {
    await quotaRepo.clear(this.db, this.key(key))
  }
}
