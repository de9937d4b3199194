/**
 * Per-socket event budget: a token bucket (burst + steady refill). A socket that keeps pushing past
 * its budget is cut off, so one flooding client cannot slow the relay for everyone else.
 * Per connection, so in-process memory is right even with several instances.
 */
export interface EventBudgetRule {
  /** events allowed at once */
  burst: number
  /** events per second refilled */
  perSecond: number
  /** refused events within `strikeWindowMs` after which the socket is disconnected */
  maxStrikes: number
  strikeWindowMs: number
}

export const DEFAULT_EVENT_BUDGET: EventBudgetRule = { burst: 100, perSecond: 50, maxStrikes: 100, strikeWindowMs: 10_000 }

export type BudgetVerdict = 'ok' | 'throttled' | 'disconnect'

export class EventBudget {
  private tokens: number
  private last: number
  private strikes = 0
  private strikeWindowStart = 0

  constructor(
    private readonly rule: EventBudgetRule = DEFAULT_EVENT_BUDGET,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = rule.burst
    this.last = now()
  }

  /** Takes `cost` tokens (1 per event, or a size for a byte budget). */
  take(cost = 1): BudgetVerdict {
    const t = this.now()
    this.tokens = Math.min(this.rule.burst, this.tokens + ((t - this.last) / 1000) * this.rule.perSecond)
    this.last = t
    if (this.tokens >= cost) {
      this.tokens -= cost
      return 'ok'
    }
    if (t - this.strikeWindowStart > this.rule.strikeWindowMs) {
      this.strikeWindowStart = t
      this.strikes = 0
    }
    this.strikes += 1
    return this.strikes > this.rule.maxStrikes ? 'disconnect' : 'throttled'
  }
}
