import type { Redis } from 'ioredis'
import type { Config } from '../config'
import type { Queryable } from '../db/db'
import { AppError } from '../http/app-error'
import { DatabaseCounter, RateCounter, type Counter } from './counters'

export type LimitName = 'upload' | 'signParts' | 'download' | 'password' | 'anonQuota' | 'userQuota' | 'roomJoin' | 'roomCreate' | 'sharePassword' | 'roomReports' | 'turnCredentials' | 'library' | 'relayQuota'

export interface LimitRule {
  points: number
  seconds: number
}

export interface LimitResult {
  limit: number
  remaining: number
  resetSeconds: number
}

const QUOTAS: ReadonlySet<LimitName> = new Set(['anonQuota', 'userQuota', 'relayQuota'])

/**
 * Named rate limits and quotas. Rate limits count in Redis when REDIS_URL is set, so every
 * instance shares one count, and fall back to a per-instance count while Redis is away (Redis is
 * an accelerator, not a single point of failure); without Redis they count in memory. Quotas (the
 * daily byte quotas) count in the database, so a Redis restart does not reset them.
 *
 * A rule can be given per call (the upload rate and the daily quotas come from the admin's live
 * settings): the stores only count, with one counter per limit and window length, and the
 * comparison with the rule's points happens in the counter, so a changed limit applies to the
 * counts so far.
 */
export class Limits {
  private readonly counters = new Map<string, Counter>()
  readonly kind: 'memory' | 'redis'

  constructor(
    private readonly rules: Record<LimitName, LimitRule>,
    /** without `db` (unit tests) the quotas count in memory too */
    private readonly stores: { db?: Queryable; redis?: Redis } = {},
    /** told about every refusal (metrics, admin feed) */
    private readonly onRejected?: (name: LimitName) => void,
  ) {
    this.kind = stores.redis ? 'redis' : 'memory'
  }

  rule(name: LimitName): LimitRule {
    return this.rules[name]
  }

  /** The counter of `name` for windows of `seconds` (the configured window keeps the original key prefix). */
  private counter(name: LimitName, seconds: number): Counter {
    const id = `${name}:${seconds}`
    let counter = this.counters.get(id)
    if (!counter) {
      const keyPrefix = seconds === this.rules[name].seconds ? `rl:${name}` : `rl:${name}:${seconds}s`
      const { db, redis } = this.stores
      counter = QUOTAS.has(name) && db ? new DatabaseCounter(db, keyPrefix, seconds) : new RateCounter(keyPrefix, seconds, QUOTAS.has(name) ? undefined : redis)
      this.counters.set(id, counter)
    }
    return counter
  }

  /** Takes `points` from `key`'s budget, or throws 429 (rate_limited) / 413 (quota_exceeded) with Retry-After. */
  async consume(name: LimitName, key: string, points = 1, rule: LimitRule = this.rules[name]): Promise<LimitResult> {
    const counter = this.counter(name, rule.seconds)
    const count = await counter.take(key, points, rule.points)
    const r = {
      limit: rule.points,
      remaining: Math.max(0, rule.points - count.used),
      resetSeconds: Math.max(1, Math.ceil(count.msBeforeReset / 1000)),
    }
    if (count.allowed) return r
    this.onRejected?.(name)
    const isQuota = QUOTAS.has(name)
    // A refused upload stores nothing, so it must not use up the quota it was refused by (the
    // database counter takes nothing when it refuses; a rate counter counts every attempt).
    if (isQuota && counter.kind !== 'database') await counter.give(key, points)
    throw new AppError(isQuota ? 'quota_exceeded' : 'rate_limited', isQuota ? (name === 'relayQuota' ? 'This address has relayed as much as it may today.' : 'Your daily upload quota is used up.') : 'Too many requests, please slow down.', {
      retryAfter: r.resetSeconds,
      headers: headersFor(r),
    })
  }

  /** Gives points back (a request that failed for the server's reasons should not count). */
  async refund(name: LimitName, key: string, points = 1, rule: LimitRule = this.rules[name]): Promise<void> {
    await this.counter(name, rule.seconds).give(key, points).catch(() => undefined)
  }

  async reset(name: LimitName, key: string): Promise<void> {
    for (const [id, counter] of this.counters) if (id.startsWith(`${name}:`)) await counter.clear(key).catch(() => undefined)
  }
}

/** IETF RateLimit-* headers (draft-ietf-httpapi-ratelimit-headers). */
export function headersFor(r: LimitResult): Record<string, string> {
  return {
    'RateLimit-Limit': String(r.limit),
    'RateLimit-Remaining': String(r.remaining),
    'RateLimit-Reset': String(r.resetSeconds),
  }
}

export function limitRules(config: Config): Record<LimitName, LimitRule> {
  const day = 86_400
  return {
    upload: config.rateLimits.upload,
    signParts: config.rateLimits.signParts,
    download: config.rateLimits.download,
    password: config.rateLimits.password,
    anonQuota: { points: config.policy.anonymous.dailyQuota, seconds: day },
    userQuota: { points: config.policy.user.dailyQuota, seconds: day },
    roomJoin: config.rooms.joinRate,
    roomCreate: config.rooms.createRate,
    sharePassword: config.rateLimits.sharePassword,
    roomReports: config.rooms.reportRate,
    turnCredentials: config.rtc.credentialRate,
    library: config.rateLimits.library,
    relayQuota: { points: config.relay.dailyQuota, seconds: day },
  }
}
