import type { AdminShare, AdminSharesQuery, AdminUser, AdminUsersQuery } from '@sharesync/protocol'
import type { Queryable } from './db'
import { HAS_DOWNLOADS_LEFT } from './shares.repo'
import { SHARE_STATUS_SQL } from './stats.repo'
import type { UserRow } from './users.repo'

/** LIKE pattern for a user's search text: their % and _ are literal. */
const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`

const SHARE_FILTERS: Record<AdminSharesQuery['status'], string> = {
  all: 'TRUE',
  uploading: `s.status = 'uploading'`,
  active: `s.status = 'ready' AND s.expires_at > now() AND ${HAS_DOWNLOADS_LEFT}`,
  used_up: `s.status = 'ready' AND NOT ${HAS_DOWNLOADS_LEFT}`,
  expired: `s.status = 'ready' AND s.expires_at <= now() AND ${HAS_DOWNLOADS_LEFT}`,
  deleted: `s.status IN ('deleting', 'deleted')`,
}

interface ShareListRow extends Omit<AdminShare, 'createdAt' | 'expiresAt'> {
  createdAt: Date
  expiresAt: Date
}

interface UserListRow extends Omit<AdminUser, 'createdAt' | 'lastLoginAt'> {
  createdAt: Date
  lastLoginAt: Date | null
}

/** Management lists and actions of the admin dashboard: one page of rows per query, newest first. */
export const adminRepo = {
  /** Shares matching `q` (id, file name or owner email) and a status, one page, and how many match. */
  async listShares(q: Queryable, query: AdminSharesQuery): Promise<{ items: AdminShare[]; total: number }> {
    const params: unknown[] = []
    let where = SHARE_FILTERS[query.status]
    if (query.q) {
      params.push(query.q, likePattern(query.q))
      where += ` AND (s.id = $1
        OR (NOT s.encrypted AND EXISTS (SELECT 1 FROM files sf WHERE sf.share_id = s.id AND sf.name ILIKE $2))
        OR EXISTS (SELECT 1 FROM users su WHERE su.id = s.owner_user_id AND su.email ILIKE $2))`
    }
    const n = params.length
    const rows = await q.query<ShareListRow>(
      `SELECT s.id, s.file_count AS "fileCount", s.total_size AS "size",
         (SELECT count(*) FROM download_events e WHERE e.share_id = s.id)::int8 AS "downloads", s.max_downloads AS "maxDownloads",
         (s.password_hash IS NOT NULL) AS "passwordProtected", s.anonymous, s.owner_user_id AS "ownerId", u.email AS "ownerEmail",
         CASE WHEN NOT s.encrypted THEN (SELECT f.name FROM files f WHERE f.share_id = s.id ORDER BY f.position LIMIT 1) END AS "name",
         s.encrypted, ${SHARE_STATUS_SQL} AS "status", s.created_at AS "createdAt", s.expires_at AS "expiresAt", s.source
       FROM shares s LEFT JOIN users u ON u.id = s.owner_user_id
       WHERE ${where}
       ORDER BY s.created_at DESC, s.id
       LIMIT $${n + 1} OFFSET $${n + 2}`,
      [...params, query.limit, query.offset],
    )
    const [count] = await q.query<{ n: number }>(`SELECT count(*)::int8 AS n FROM shares s WHERE ${where}`, params)
    return {
      items: rows.map((r) => ({ ...r, createdAt: new Date(r.createdAt).toISOString(), expiresAt: new Date(r.expiresAt).toISOString() })),
      total: count?.n ?? 0,
    }
  },

  /** Users matching `q` (id, email or name), one page, with their share count and stored bytes. */
  async listUsers(q: Queryable, query: AdminUsersQuery): Promise<{ items: AdminUser[]; total: number }> {
    const params: unknown[] = []
    let where = 'TRUE'
    if (query.q) {
      params.push(query.q, likePattern(query.q))
      where = `(u.id = $1 OR u.email ILIKE $2 OR u.name ILIKE $2)`
    }
    const n = params.length
    const rows = await q.query<UserListRow>(
      `SELECT u.id, u.email, u.name, u.role, (u.disabled_at IS NOT NULL) AS "disabled", u.library_access AS "libraryAccess",
         u.created_at AS "createdAt", u.last_login_at AS "lastLoginAt",
         coalesce(st.n, 0)::int8 AS "shares", coalesce(st.bytes, 0)::int8 AS "storedBytes"
       FROM users u
       LEFT JOIN LATERAL (
         SELECT count(*) AS n, sum(total_size) FILTER (WHERE s.source = 'upload') AS bytes FROM shares s WHERE s.owner_user_id = u.id AND s.status <> 'deleted'
       ) st ON TRUE
       WHERE ${where}
       ORDER BY u.created_at DESC, u.id
       LIMIT $${n + 1} OFFSET $${n + 2}`,
      [...params, query.limit, query.offset],
    )
    const [count] = await q.query<{ n: number }>(`SELECT count(*)::int8 AS n FROM users u WHERE ${where}`, params)
    return {
      items: rows.map((r) => ({
        ...r,
        createdAt: new Date(r.createdAt).toISOString(),
        lastLoginAt: r.lastLoginAt ? new Date(r.lastLoginAt).toISOString() : null,
      })),
      total: count?.n ?? 0,
    }
  },

  /**
   * Disables (or re-enables) a user. Disabling also deletes their sessions in the same transaction:
   * they are signed out everywhere at once (the session middleware also treats them as signed out).
   */
  async setDisabled(q: Queryable, userId: string, disabled: boolean): Promise<UserRow | null> {
    const rows = await q.query<UserRow>(
      `UPDATE users SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) ELSE NULL END WHERE id = $1 RETURNING *`,
      [userId, disabled],
    )
    if (rows[0] && disabled) await q.query(`DELETE FROM sessions WHERE user_id = $1`, [userId])
    return rows[0] ?? null
  },
}
