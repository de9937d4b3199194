import type { Queryable } from './db'

/**
 * express-session rows. `user_id` is a copy of the signed-in user in `data`, so that all of a
 * user's sessions can be ended at once (disable, sign out everywhere).
 */
export const sessionsRepo = {
  async get(q: Queryable, sid: string): Promise<Record<string, unknown> | null> {
    const rows = await q.query<{ data: Record<string, unknown> | string }>(`SELECT data FROM sessions WHERE sid = $1 AND expires_at > now()`, [sid])
    const data = rows[0]?.data
    if (data === undefined) return null
    // node-postgres parses jsonb; PGlite does too, but a string is accepted for safety.
    return typeof data === 'string' ? (JSON.parse(data) as Record<string, unknown>) : data
  },

  async set(q: Queryable, sid: string, data: unknown, userId: string | null, expiresAt: Date): Promise<void> {
    await q.query(
      `INSERT INTO sessions (sid, user_id, data, expires_at) VALUES ($1, $2, $3::jsonb, $4)
       ON CONFLICT (sid) DO UPDATE SET user_id = EXCLUDED.user_id, data = EXCLUDED.data, expires_at = EXCLUDED.expires_at`,
      [sid, userId, JSON.stringify(data), expiresAt],
    )
  },

  /** Slides the expiry; skips the write when it moved by less than `slackSeconds` (most requests). */
  async touch(q: Queryable, sid: string, expiresAt: Date, slackSeconds: number): Promise<void> {
    await q.query(
      `UPDATE sessions SET expires_at = $2 WHERE sid = $1 AND expires_at < $2::timestamptz - make_interval(secs => $3)`,
      [sid, expiresAt, slackSeconds],
    )
  },

  async destroy(q: Queryable, sid: string): Promise<void> {
    await q.query(`DELETE FROM sessions WHERE sid = $1`, [sid])
  },

  async destroyForUser(q: Queryable, userId: string): Promise<void> {
    await q.query(`DELETE FROM sessions WHERE user_id = $1`, [userId])
  },

  async pruneExpired(q: Queryable): Promise<number> {
    const rows = await q.query(`DELETE FROM sessions WHERE expires_at <= now() RETURNING sid`)
    return rows.length
  },
}
