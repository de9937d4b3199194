import type { AdminShareStatus, DailyFigures, StatsTotals, TopShare, UploadsBySource } from '@sharesync/protocol'
import type { Db, Queryable } from './db'

/**
 * Aggregates for the admin dashboard. Every figure is one SQL aggregate over an index (see
 * 004_admin.sql); no query returns more rows than it shows. Days are UTC days.
 */

/** SQL for a share's dashboard status (s = shares). */
export const SHARE_STATUS_SQL = `CASE WHEN s.status IN ('deleting', 'deleted') THEN 'deleted'
  WHEN s.status = 'uploading' THEN 'uploading'
  WHEN s.max_downloads IS NOT NULL AND s.downloads >= s.max_downloads THEN 'used_up'
  WHEN s.expires_at <= now() THEN 'expired'
  ELSE 'active' END`

export interface DayRange {
  /** first day, YYYY-MM-DD */
  from: string
  /** last day (included), YYYY-MM-DD */
  to: string
}

/** [start, end) instants of a day range, for index range scans on timestamptz columns. */
function bounds(r: DayRange): [string, string] {
  const end = new Date(Date.parse(`${r.to}T00:00:00Z`) + 86_400_000)
  return [`${r.from}T00:00:00Z`, end.toISOString()]
}

/**
 * These aggregates run in tens of milliseconds, but the planner cannot guess how many days a date
 * expression yields, overestimates the joins and JIT-compiles them: ~300 ms of compiling on
 * PostgreSQL. JIT is turned off for their transaction only.
 */
function withoutJit<T>(db: Db, work: (q: Queryable) => Promise<T>): Promise<T> {
  return db.tx(async (q) => {
    await q.query('SET LOCAL jit = off')
    return work(q)
  })
}

export const statsRepo = {
  async totals(db: Db): Promise<StatsTotals> {
    const [row] = await withoutJit(db, (q) =>
      q.query<StatsTotals>(
        `SELECT
         (SELECT count(*) FROM users)::int8 AS "users",
         (SELECT count(*) FROM users WHERE disabled_at IS NOT NULL)::int8 AS "disabledUsers",
         (SELECT count(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL)::int8 AS "admins",
         (SELECT count(*) FROM shares WHERE status = 'ready' AND expires_at > now() AND (max_downloads IS NULL OR downloads < max_downloads))::int8 AS "activeShares",
         (SELECT coalesce(sum(total_size), 0) FROM shares WHERE status <> 'deleted' AND source = 'upload')::int8 AS "storedBytes",
         u.n AS "uploads", u.bytes AS "uploadBytes",
         d.n AS "downloads", d.bytes AS "downloadBytes",
         p.n AS "p2pTransfers", p.completed AS "p2pCompleted", p.bytes AS "p2pBytes",
         r.n AS "p2pRelays", r.bytes AS "p2pRelayBytes"
       FROM
         (SELECT count(*)::int8 AS n, coalesce(sum(total_size), 0)::int8 AS bytes FROM shares WHERE finalized_at IS NOT NULL) u,
         (SELECT count(*)::int8 AS n, coalesce(sum(bytes), 0)::int8 AS bytes FROM download_events) d,
         (SELECT count(*)::int8 AS n, count(*) FILTER (WHERE status = 'completed')::int8 AS completed,
                 coalesce(sum(bytes), 0)::int8 AS bytes FROM p2p_transfers) p,
         (SELECT count(*) FILTER (WHERE opener)::int8 AS n, coalesce(sum(bytes), 0)::int8 AS bytes FROM p2p_relays) r`,
      ),
    )
    return row!
  },

  /** One row per day of the range, zeros included (generate_series), each figure a GROUP BY over an index range. */
  async daily(db: Db, r: DayRange): Promise<DailyFigures[]> {
    const [start, end] = bounds(r)
    return withoutJit(db, (q) =>
      q.query<DailyFigures>(
        // Grouped by the UTC date value (cheap per row); only the few day keys are formatted.
        `WITH days AS (
         SELECT d::date AS day FROM generate_series($3::date, $4::date, interval '1 day') d
       ), up AS MATERIALIZED (
         SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n, sum(total_size) AS bytes
         FROM shares WHERE finalized_at IS NOT NULL AND created_at >= $1 AND created_at < $2 GROUP BY 1
       ), down AS MATERIALIZED (
         SELECT (at AT TIME ZONE 'UTC')::date AS day, count(*) AS n, sum(bytes) AS bytes
         FROM download_events WHERE at >= $1 AND at < $2 GROUP BY 1
       ), p2p AS MATERIALIZED (
         SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n, sum(bytes) AS bytes
         FROM p2p_transfers WHERE created_at >= $1 AND created_at < $2 GROUP BY 1
       )
       SELECT to_char(days.day, 'YYYY-MM-DD') AS day,
         coalesce(up.n, 0)::int8 AS "uploads", coalesce(down.n, 0)::int8 AS "downloads",
         coalesce(up.bytes, 0)::int8 AS "bytesUp", coalesce(down.bytes, 0)::int8 AS "bytesDown",
         coalesce(p2p.n, 0)::int8 AS "p2pTransfers", coalesce(p2p.bytes, 0)::int8 AS "p2pBytes"
       FROM days
       LEFT JOIN up ON up.day = days.day
       LEFT JOIN down ON down.day = days.day
       LEFT JOIN p2p ON p2p.day = days.day
       ORDER BY days.day`,
        [start, end, r.from, r.to],
      ),
    )
  },

  /**
   * The most downloaded shares (all time), counted from the download events (unlimited shares append
   * an event per download and never update their row).
   */
  async topShares(q: Queryable, limit: number): Promise<TopShare[]> {
    const rows = await q.query<TopShare & { status: AdminShareStatus }>(
      `SELECT s.id, s.file_count AS "fileCount", s.total_size AS "size", d.n AS "downloads", u.email AS "ownerEmail",
         CASE WHEN NOT s.encrypted THEN (SELECT f.name FROM files f WHERE f.share_id = s.id ORDER BY f.position LIMIT 1) END AS "name",
         s.encrypted, ${SHARE_STATUS_SQL} AS "status"
       FROM (SELECT share_id, count(*)::int8 AS n FROM download_events GROUP BY share_id ORDER BY n DESC, share_id LIMIT $1) d
       JOIN shares s ON s.id = d.share_id
       LEFT JOIN users u ON u.id = s.owner_user_id
       ORDER BY d.n DESC, s.created_at DESC`,
      [limit],
    )
    return rows
  },

  async uploadsBySource(q: Queryable, r: DayRange): Promise<UploadsBySource> {
    const [start, end] = bounds(r)
    const rows = await q.query<{ anonymous: boolean; n: number; bytes: number }>(
      `SELECT anonymous, count(*)::int8 AS n, coalesce(sum(total_size), 0)::int8 AS bytes
       FROM shares WHERE finalized_at IS NOT NULL AND created_at >= $1 AND created_at < $2
       GROUP BY anonymous`,
      [start, end],
    )
    const of = (anonymous: boolean) => {
      const row = rows.find((x) => x.anonymous === anonymous)
      return { uploads: row?.n ?? 0, bytes: row?.bytes ?? 0 }
    }
    return { anonymous: of(true), signedIn: of(false) }
  },
}
