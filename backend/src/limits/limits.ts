import type { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import type { Config } from '../config'
import { AppError } from '../http/app-error'

export type LimitName = 'upload' | 'signParts' | 'download' | 'password' | 'anonQuota' | 'userQuota' | 'roomJoin' | 'roomCreate' | 'sharePassword' | 'roomReports' | 'turnCredentials' | 'library'

export interface LimitRule {
  points: number
  seconds: number
}

export interface LimitResult {
  limit: number
  remaining: number
  resetSeconds: number
}

/**
 * Named rate limiters and quotas (rate-limiter-flexible): in memory by default, in Redis when
 * REDIS_URL is set so that every instance shares one count.
 *
 * A rule can be given per call (the upload rate and the daily quotas come from the admin's live
 * settings): the stores only count, with one counter per limit and window length, and the
 * comparison with the rule's points happens here, so a changed limit applies to the counts so far.
 */
export class Limits {
  private readonly limiters = new Map<string, RateLimiterAbstract>()
  readonly kind: 'memory' | 'redis'

  constructor(
    private readonly rules: Record<LimitName, LimitRule>,
    private readonly redis?: Redis,
    /** told about every refusal (metrics, admin feed) */
    private readonly onRejected?: (name: LimitName) => void,
  ) {
    this.kind = redis ? 'redis' : 'memory'
  }

  rule(name: LimitName): LimitRule {
    return this.rules[name]
  }

  /** The counter of `name` for windows of `seconds` (the configured window keeps the original key prefix). */
  private limiter(name: LimitName, seconds: number): RateLimiterAbstract {
    const id = `${name}:${seconds}`
    let limiter = this.limiters.get(id)
    if (!limiter) {
      const keyPrefix = seconds === this.rules[name].seconds ? `rl:${name}` : `rl:${name}:${seconds}s`
      // Never refuses by itself (the points are checked in consume): it only counts.
      const opts = { keyPrefix, points: Number.MAX_SAFE_INTEGER, duration: seconds }
      limiter = this.redis ? new RateLimiterRedis({ ...opts, storeClient: this.redis, rejectIfRedisNotReady: true }) : new RateLimiterMemory(opts)
      this.limiters.set(id, limiter)
    }
    return limiter
  }

  /** Takes `points` from `key`'s budget, or throws 429 (rate_limited / quota_exceeded) with Retry-After. */
  async consume(name: LimitName, key: string, points = 1, rule: LimitRule = this.rules[name]): Promise<LimitResult> {
    const limiter = this.limiter(name, rule.seconds)
    let res: RateLimiterRes
    try {
      res = await limiter.consume(key, points)
    } catch (err) {
      if (err instanceof RateLimiterRes) res = err
      else throw new AppError('redis_unavailable', 'The rate limiter is unavailable, please try again shortly.')
    }
    const r = this.result(rule, res)
    if (res.consumedPoints <= rule.points) return r
    const isQuota = name === 'anonQuota' || name === 'userQuota'
    // A refused upload stores nothing, so it must not use up the quota it was refused by.
    if (isQuota) await limiter.reward(key, points).catch(() => undefined)
    this.onRejected?.(name)
    throw new AppError(isQuota ? 'quota_exceeded' : 'rate_limited', isQuota ? 'Your daily upload quota is used up.' : 'Too many requests, please slow down.', {
      retryAfter: r.resetSeconds,
      headers: headersFor(r),
    })
  }

  /** Gives points back (a request that failed for the server's reasons should not count). */
  async refund(name: LimitName, key: string, points = 1, rule: LimitRule = this.rules[name]): Promise<void> {
    await this.limiter(name, rule.seconds).reward(key, points).catch(() => undefined)
  }

  async reset(name: LimitName, key: string): Promise<void> {
    for (const [id, limiter] of this.limiters) if (id.startsWith(`${name}:`)) await limiter.delete(key).catch(() => undefined)
  }

  private result(rule: LimitRule, res: RateLimiterRes): LimitResult {
    return {
      limit: rule.points,
      remaining: Math.max(0, rule.points - res.consumedPoints),
      resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
    }
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
  }
}
