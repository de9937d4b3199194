import type { Db, Queryable } from './db'
import { CLOUD_READY, HAS_DOWNLOADS_LEFT, LIVE, type ShareRow } from './shares.repo'

/** The file a download is for, with what signing or streaming it needs. */
export interface DownloadFile {
  id: string
  share_id: string
  name: string
  /** the file's folder inside the share ('' at the top) */
  path: string
  size: number
  content_type: string
  storage_key: string
  completed_at: Date | null
  /** the share's expiry */
  expires_at: Date
  /** the share is served directly by its sender too (its cloud downloads are streamed by the app, for receipts) */
  direct: boolean
}

/** One download of an unlimited share, as the download service records it. */
export interface NewDownloadEvent {
  shareId: string
  fileId: string
  bytes: number
  userId: string | null
  at: Date
}

export interface LeaseRow {
  id: string
  share_id: string
  token_hash: string
  user_id: string | null
  expires_at: Date
  counted_at: Date | null
  completed_files: string[]
  released_at: Date | null
  /** not lapsed and not given back (by the database clock, the same on every instance) */
  live: boolean
  /** the share is still downloadable (ready, not expired, owner not disabled) */
  share_live: boolean
  /** its files are in storage (a `direct` share's cloud copy may not be) */
  share_ready: boolean
  /** a `direct` share with no cloud copy at all */
  share_cloud_off: boolean
  owner_user_id: string | null
}

export type Claim =
  | { kind: 'leased'; expiresAt: Date }
  /** every remaining download is leased right now; the first lease lapses in `retryAfter` seconds at the latest */
  | { kind: 'busy'; retryAfter: number }
  /** not live, no downloads left, or not a limited share */
  | { kind: 'gone' }

export type Completion =
  /** this file was the lease's first complete one: the share's download was counted now */
  | 'counted'
  /** another file of a lease already counted */
  | 'added'
  /** this file was already complete under this lease (two ranged requests both reached the end) */
  | 'already'
  /** the lease lapsed or was given back: the last bytes must not be sent */
  | 'lapsed'

const FILE_COLUMNS = `f.id, f.share_id, f.name, f.path, f.size, f.content_type, f.storage_key, f.completed_at, s.expires_at, s.direct`

/** A single-file share's only file (`fileId` null), or the given file of the share. */
const FILE_OF_SHARE = `(CASE WHEN $2::text IS NULL THEN s.file_count = 1 ELSE f.id = $2::text END)`

/**
 * Downloads: events (the one record every figure is derived from) and the leases of limited shares.
 * Unlimited shares are counted by appending an event, never by updating their row, so a popular link
 * does not serialise its downloaders on a row lock.
 */
export const downloadsRepo = {
  /**
   * Unlimited shares: the file to sign if the share is live (for at least one more second, so a
   * presigned URL of at least a second can be signed) and has no download limit; null otherwise
   * (not live, limited, not this share's file, or — with `openOnly` — it has a password, which must
   * be checked first). A read only: the download is counted by appending its event (`appendEvents`).
   */
  async unlimitedFile(q: Queryable, o: { shareId: string; fileId: string | null; openOnly: boolean }): Promise<DownloadFile | null> {
    const rows = await q.query<DownloadFile>(
      `SELECT ${FILE_COLUMNS} FROM shares s JOIN files f ON f.share_id = s.id
       WHERE s.id = $1 AND ${LIVE} AND ${CLOUD_READY} AND s.expires_at > now() + interval '1 second' AND s.max_downloads IS NULL
         AND ${FILE_OF_SHARE} ${o.openOnly ? 'AND s.password_hash IS NULL' : ''}`,
      [o.shareId, o.fileId],
    )
    return rows.length === 1 ? rows[0]! : null
  },

  /** Download events of unlimited shares, many in one statement (each keeps the time it happened). */
  async appendEvents(q: Queryable, events: readonly NewDownloadEvent[]): Promise<void> {
    if (events.length === 0) return
    await q.query(
      `INSERT INTO download_events (share_id, file_id, bytes, user_id, at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::timestamptz[])`,
      [events.map((e) => e.shareId), events.map((e) => e.fileId), events.map((e) => e.bytes), events.map((e) => e.userId), events.map((e) => e.at.toISOString())],
    )
  },

  /**
   * "Download all" of an unlimited share: one download event per file (a zip is a download of every
   * file in it), if the share is live for at least one more second. Returns the files counted.
   */
  async appendUnlimitedAll(q: Queryable, o: { shareId: string; userId: string | null }): Promise<{ files: number; bytes: number }> {
    const [row] = await q.query<{ files: number; bytes: string | number }>(
      `WITH target AS (
         SELECT s.id FROM shares s WHERE s.id = $1 AND ${LIVE} AND ${CLOUD_READY} AND s.expires_at > now() + interval '1 second' AND s.max_downloads IS NULL
       ), event AS (
         INSERT INTO download_events (share_id, file_id, bytes, user_id) SELECT f.share_id, f.id, f.size, $2::text FROM files f JOIN target t ON t.id = f.share_id
         RETURNING bytes
       )
       SELECT count(*)::int AS files, coalesce(sum(bytes), 0)::int8 AS bytes FROM event`,
      [o.shareId, o.userId],
    )
    return { files: row?.files ?? 0, bytes: Number(row?.bytes ?? 0) }
  },

  /** A live share, whether or not it has downloads left (a lease holder finishes the files of a used-up share). */
  async liveShare(q: Queryable, shareId: string): Promise<ShareRow | null> {
    const rows = await q.query<ShareRow>(`SELECT s.* FROM shares s WHERE s.id = $1 AND ${LIVE}`, [shareId])
    return rows[0] ?? null
  },

  /** A file of the share (`fileId` null: the only file of a single-file share). */
  async file(q: Queryable, shareId: string, fileId: string | null): Promise<DownloadFile | null> {
    const rows = await q.query<DownloadFile>(`SELECT ${FILE_COLUMNS} FROM shares s JOIN files f ON f.share_id = s.id WHERE s.id = $1 AND ${FILE_OF_SHARE}`, [shareId, fileId])
    return rows.length === 1 ? rows[0]! : null
  },

  /**
   * Leases one of a limited share's remaining downloads, if one is neither used nor leased. The share
   * row is locked first (FOR UPDATE); the leases are counted by the next statement, whose snapshot is
   * taken after the lock was granted, so two claimants can never both see the last download free.
   */
  async claimLease(db: Db, o: { shareId: string; leaseId: string; tokenHash: string; userId: string | null; ttlSeconds: number }): Promise<Claim> {
    return db.tx(async (q) => {
      const [share] = await q.query<{ downloads: number; max_downloads: number | null }>(
        `SELECT s.downloads, s.max_downloads FROM shares s WHERE s.id = $1 AND ${LIVE} AND ${HAS_DOWNLOADS_LEFT} FOR UPDATE OF s`,
        [o.shareId],
      )
      if (!share || share.max_downloads === null) return { kind: 'gone' } as const
      const [leased] = await q.query<{ n: number; soonest: number | null }>(
        `SELECT count(*)::int AS n, ceil(extract(epoch FROM min(expires_at) - now()))::int AS soonest
         FROM download_leases WHERE share_id = $1 AND released_at IS NULL AND counted_at IS NULL AND expires_at > now()`,
        [o.shareId],
      )
      if (share.downloads + (leased?.n ?? 0) >= share.max_downloads) return { kind: 'busy', retryAfter: Math.max(1, leased?.soonest ?? 1) } as const
      const [lease] = await q.query<{ expires_at: Date }>(
        `INSERT INTO download_leases (id, share_id, token_hash, user_id, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) RETURNING expires_at`,
        [o.leaseId, o.shareId, o.tokenHash, o.userId, o.ttlSeconds],
      )
      return { kind: 'leased', expiresAt: lease!.expires_at } as const
    })
  },

  async lease(q: Queryable, leaseId: string): Promise<LeaseRow | null> {
    const rows = await q.query<LeaseRow>(
      `SELECT l.*, (l.released_at IS NULL AND l.expires_at > now()) AS live,
         EXISTS (SELECT 1 FROM shares s WHERE s.id = l.share_id AND ${LIVE}) AS share_live,
         EXISTS (SELECT 1 FROM shares s WHERE s.id = l.share_id AND ${CLOUD_READY}) AS share_ready,
         EXISTS (SELECT 1 FROM shares s WHERE s.id = l.share_id AND NOT s.cloud_copy) AS share_cloud_off,
         (SELECT s.owner_user_id FROM shares s WHERE s.id = l.share_id) AS owner_user_id
       FROM download_leases l WHERE l.id = $1`,
      [leaseId],
    )
    return rows[0] ?? null
  },

  /** Extends a live lease of a live share by `ttlSeconds` from now; null when it lapsed, was given back or the share went. */
  async extendLease(q: Queryable, leaseId: string, ttlSeconds: number): Promise<Date | null> {
    const rows = await q.query<{ expires_at: Date }>(
      `UPDATE download_leases l SET expires_at = greatest(l.expires_at, now() + make_interval(secs => $2))
       FROM shares s
       WHERE l.id = $1 AND s.id = l.share_id AND l.released_at IS NULL AND l.expires_at > now() AND ${LIVE}
       RETURNING l.expires_at`,
      [leaseId, ttlSeconds],
    )
    return rows[0]?.expires_at ?? null
  },

  /**
   * Records that `fileId` was sent completely under the lease (called before its last bytes go out).
   * The lease's first complete file counts the share's download: the share's counter (limited shares
   * only, under its row lock) and one download event; later files add their bytes to that event.
   */
  async completeFile(db: Db, o: { leaseId: string; shareId: string; fileId: string; bytes: number }): Promise<Completion> {
    return db.tx(async (q) => {
      const [lease] = await q.query<{ live: boolean; counted: boolean; done: boolean; user_id: string | null }>(
        `SELECT (released_at IS NULL AND expires_at > now()) AS live, counted_at IS NOT NULL AS counted, $2::text = ANY(completed_files) AS done, user_id
         FROM download_leases WHERE id = $1 AND share_id = $3 FOR UPDATE`,
        [o.leaseId, o.fileId, o.shareId],
      )
      if (!lease || !lease.live) return 'lapsed'
      if (lease.done) return 'already'
      await q.query(`UPDATE download_leases SET completed_files = array_append(completed_files, $2::text), counted_at = coalesce(counted_at, now()) WHERE id = $1`, [
        o.leaseId,
        o.fileId,
      ])
      if (lease.counted) {
        await q.query(`UPDATE download_events SET bytes = bytes + $2 WHERE lease_id = $1`, [o.leaseId, o.bytes])
        return 'added'
      }
      await q.query(`UPDATE shares SET downloads = downloads + 1, last_download_at = now() WHERE id = $1`, [o.shareId])
      await q.query(`INSERT INTO download_events (share_id, file_id, bytes, user_id, lease_id) VALUES ($1, $2, $3, $4, $5)`, [
        o.shareId,
        o.fileId,
        o.bytes,
        lease.user_id,
        o.leaseId,
      ])
      return 'counted'
    })
  },

  /** Gives a lease back before anything was sent under it (storage failed): the download is free at once. */
  async releaseUnused(q: Queryable, leaseId: string): Promise<boolean> {
    const rows = await q.query(
      `UPDATE download_leases SET released_at = now()
       WHERE id = $1 AND released_at IS NULL AND counted_at IS NULL AND cardinality(completed_files) = 0 RETURNING id`,
      [leaseId],
    )
    return rows.length === 1
  },

  /** Lapsed leases are only history once they ended this long ago. */
  async deleteEndedLeases(q: Queryable, olderThanSeconds: number): Promise<number> {
    const rows = await q.query(`DELETE FROM download_leases WHERE expires_at < now() - make_interval(secs => $1) RETURNING id`, [olderThanSeconds])
    return rows.length
  },
}
