import type { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import type { Config } from '../config'
import { AppError } from '../http/app-error'

export type LimitName = 'upload' | 'signParts' | 'download' | 'password' | 'anonQuota' | 'userQuota' | 'roomJoin' | 'roomCreate'

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
 */
export class Limits {
  private readonly limiters = new Map<LimitName, RateLimiterAbstract>()
  readonly kind: 'memory' | 'redis'

  constructor(
    private readonly rules: Record<LimitName, LimitRule>,
    redis?: Redis,
  ) {
    this.kind = redis ? 'redis' : 'memory'
    for (const [name, rule] of Object.entries(rules) as [LimitName, LimitRule][]) {
      const opts = { keyPrefix: `rl:${name}`, points: rule.points, duration: rule.seconds }
      this.limiters.set(name, redis ? new RateLimiterRedis({ ...opts, storeClient: redis, rejectIfRedisNotReady: true }) : new RateLimiterMemory(opts))
    }
  }

  rule(name: LimitName): LimitRule {
    return this.rules[name]
  }

  /** Takes `points` from `key`'s budget, or throws 429 (rate_limited / quota_exceeded) with Retry-After. */
  async consume(name: LimitName, key: string, points = 1): Promise<LimitResult> {
    const limiter = this.limiters.get(name)!
    try {
      const res = await limiter.consume(key, points)
      return this.result(name, res)
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        const r = this.result(name, err)
        const isQuota = name === 'anonQuota' || name === 'userQuota'
        // A refused upload stores nothing, so it must not use up the quota it was refused by.
        if (isQuota) await limiter.reward(key, points).catch(() => undefined)
        throw new AppError(isQuota ? 'quota_exceeded' : 'rate_limited', isQuota ? 'Your daily upload quota is used up.' : 'Too many requests, please slow down.', {
          retryAfter: r.resetSeconds,
          headers: headersFor(r),
        })
      }
      throw new AppError('redis_unavailable', 'The rate limiter is unavailable, please try again shortly.')
    }
  }

  /** Gives points back (a request that failed for the server's reasons should not count). */
  async refund(name: LimitName, key: string, points = 1): Promise<void> {
    await this.limiters.get(name)!.reward(key, points).catch(() => undefined)
  }

  async reset(name: LimitName, key: string): Promise<void> {
    await this.limiters.get(name)!.delete(key).catch(() => undefined)
  }

  private result(name: LimitName, res: RateLimiterRes): LimitResult {
    return {
      limit: this.rules[name].points,
      remaining: Math.max(0, res.remainingPoints),
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
  }
}
