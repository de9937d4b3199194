import session from 'express-session'
import type { Logger } from 'pino'
import type { Db } from '../db/db'
import { sessionsRepo } from '../db/sessions.repo'

const DAY_MS = 86_400_000
/** A touch closer than this to the stored expiry is skipped: one write per session per hour at most. */
const TOUCH_SLACK_SECONDS = 3600
const PRUNE_EVERY_MS = 3_600_000

/**
 * Sessions live in the database, so they survive restarts and every instance sees the same ones.
 * Expired rows are ignored on read and pruned at most hourly per instance.
 */
export class DbSessionStore extends session.Store {
  private lastPrune = 0
  /** sid -> when this instance last slid its expiry; only saves writes, so losing it is harmless. */
  private readonly touched = new Map<string, number>()

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
  ) {
    super()
  }

  override get(sid: string, cb: (err: unknown, session?: session.SessionData | null) => void): void {
    sessionsRepo.get(this.db, sid).then(
      (data) => cb(null, data as session.SessionData | null),
      (err: unknown) => cb(err),
    )
  }

  override set(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): void {
    this.maybePrune()
    sessionsRepo.set(this.db, sid, sess, sess.userId ?? null, expiryOf(sess)).then(
      () => cb?.(),
      (err: unknown) => cb?.(err),
    )
  }

  override touch(sid: string, sess: session.SessionData, cb?: () => void): void {
    const now = Date.now()
    if (now - (this.touched.get(sid) ?? 0) < TOUCH_SLACK_SECONDS * 1000) return void cb?.()
    if (this.touched.size > 10_000) this.touched.clear()
    this.touched.set(sid, now)
    sessionsRepo.touch(this.db, sid, expiryOf(sess), TOUCH_SLACK_SECONDS).then(
      () => cb?.(),
      // A failed touch only shortens a session's life; the request itself must not fail for it.
      (err: unknown) => {
        this.logger.warn({ err }, 'session touch failed')
        cb?.()
      },
    )
  }

  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    this.touched.delete(sid)
    sessionsRepo.destroy(this.db, sid).then(
      () => cb?.(),
      (err: unknown) => cb?.(err),
    )
  }

  private maybePrune(): void {
    const now = Date.now()
    if (now - this.lastPrune < PRUNE_EVERY_MS) return
    this.lastPrune = now
    sessionsRepo.pruneExpired(this.db).then(
      (n) => n > 0 && this.logger.debug({ pruned: n }, 'expired sessions pruned'),
      (err: unknown) => this.logger.warn({ err }, 'session prune failed'),
    )
  }
}

function expiryOf(sess: session.SessionData): Date {
  const expires = sess.cookie?.expires
  if (expires) return new Date(expires)
  const maxAge = sess.cookie?.maxAge
  return new Date(Date.now() + (typeof maxAge === 'number' ? maxAge : DAY_MS))
}
