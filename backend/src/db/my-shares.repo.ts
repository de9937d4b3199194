import type { Queryable } from './db'

export interface MyShareRow {
  id: string
  status: 'uploading' | 'ready' | 'expired' | 'exhausted'
  names: string[]
  encrypted: boolean
  total_size: number
  downloads: number
  max_downloads: number | null
  password_protected: boolean
  expires_at: Date
  created_at: Date
  source: 'upload' | 'library'
  direct: boolean
  cloud_copy: boolean
}

const MY_SHARE_COLUMNS = `
  s.id,
  CASE
    WHEN s.expires_at <= now() THEN 'expired'
    WHEN s.max_downloads IS NOT NULL AND s.downloads >= s.max_downloads THEN 'exhausted'
    WHEN s.status = 'uploading' THEN 'uploading'
    ELSE 'ready'
  END AS status,
  ARRAY(SELECT f.name FROM files f WHERE f.share_id = s.id ORDER BY f.position) AS names,
  s.encrypted,
  s.total_size, (SELECT count(*) FROM download_events e WHERE e.share_id = s.id)::int8 AS downloads, s.max_downloads,
  s.password_hash IS NOT NULL AS password_protected,
  s.expires_at, s.created_at, s.source, s.direct, s.cloud_copy`

/** "My shares": every query is scoped by owner_user_id, so one user never reaches another's share. */
export const mySharesRepo = {
  async list(q: Queryable, userId: string, limit: number): Promise<MyShareRow[]> {
    return q.query<MyShareRow>(
      `SELECT ${MY_SHARE_COLUMNS} FROM shares s
       WHERE s.owner_user_id = $1 AND s.status IN ('uploading', 'ready') AND s.request_id IS NULL AND s.room_id IS NULL
       ORDER BY s.created_at DESC LIMIT $2`,
      [userId, limit],
    )
  },

  async findOwned(q: Queryable, shareId: string, userId: string): Promise<MyShareRow | null> {
    const rows = await q.query<MyShareRow>(
      `SELECT ${MY_SHARE_COLUMNS} FROM shares s WHERE s.id = $1 AND s.owner_user_id = $2 AND s.status IN ('uploading', 'ready') AND s.request_id IS NULL AND s.room_id IS NULL`,
      [shareId, userId],
    )
    return rows[0] ?? null
  },

  /** Only a live share of this owner; returns false when it is not (gone, expired, someone else's). */
  async setExpiry(q: Queryable, shareId: string, userId: string, expiresAt: Date): Promise<boolean> {
    const rows = await q.query(
      `UPDATE shares SET expires_at = $3
       WHERE id = $1 AND owner_user_id = $2 AND status IN ('uploading', 'ready') AND expires_at > now() AND request_id IS NULL AND room_id IS NULL
       RETURNING id`,
      [shareId, userId, expiresAt],
    )
    return rows.length === 1
  },

  /**
   * Attaches an anonymous share to a user, given the owner token the creating browser kept.
   * Only shares without an owner: a token never moves a share away from another account.
   */
  async claim(q: Queryable, shareId: string, ownerTokenHash: string, userId: string): Promise<boolean> {
    const rows = await q.query(
      `UPDATE shares SET owner_user_id = $3
       WHERE id = $1 AND owner_token_hash = $2 AND owner_user_id IS NULL AND status IN ('uploading', 'ready')
       RETURNING id`,
      [shareId, ownerTokenHash, userId],
    )
    return rows.length === 1
  },
}
