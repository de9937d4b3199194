import type { Queryable } from './db'

export interface QuotaUsage {
  used: number
  resets_at: Date
}

/** Fixed-window counters (see 007_quota_usage.sql): a window starts with its first use. */
export const quotaRepo = {
  /**
   * Adds `points` unless the window's total would pass `limit`, in one statement (two instances
   * cannot both squeeze in). An expired window starts over. Null when refused.
   */
  async take(q: Queryable, key: string, points: number, limit: number, windowSeconds: number): Promise<QuotaUsage | null> {
    const rows = await q.query<QuotaUsage>(
      `INSERT INTO quota_usage AS u (key, used, resets_at)
         SELECT $1::text, $2::bigint, now() + make_interval(secs => $3::double precision) WHERE $2::bigint <= $4::bigint
       ON CONFLICT (key) DO UPDATE SET
         used = CASE WHEN u.resets_at <= now() THEN EXCLUDED.used ELSE u.used + EXCLUDED.used END,
         resets_at = CASE WHEN u.resets_at <= now() THEN EXCLUDED.resets_at ELSE u.resets_at END
       WHERE u.resets_at <= now() OR u.used + EXCLUDED.used <= $4::bigint
       RETURNING used, resets_at`,
      [key, points, windowSeconds, limit],
    )
    return rows[0] ?? null
  },

  async get(q: Queryable, key: string): Promise<QuotaUsage | null> {
    const rows = await q.query<QuotaUsage>(`SELECT used, resets_at FROM quota_usage WHERE key = $1 AND resets_at > now()`, [key])
    return rows[0] ?? null
  },

  async give(q: Queryable, key: string, points: number): Promise<void> {
    await q.query(`UPDATE quota_usage SET used = GREATEST(0, used - $2::bigint) WHERE key = $1 AND resets_at > now()`, [key, points])
  },

  async clear(q: Queryable, key: string): Promise<void> {
    await q.query(`DELETE FROM quota_usage WHERE key = $1`, [key])
  },

  /** Windows that have passed hold nothing worth keeping. */
  async prune(q: Queryable): Promise<void> {
    await q.query(`DELETE FROM quota_usage WHERE resets_at < now()`)
  },
}
