import type { Queryable } from './db'

export interface FileRequestRow {
  id: string
  owner_user_id: string
  title: string
  message: string | null
  password_hash: string | null
  max_bytes: number | null
  max_files: number | null
  max_uses: number | null
  allowed_types: string[]
  expires_at: Date
  used_bytes: number
  used_files: number
  uses: number
  closed_at: Date | null
  created_at: Date
  /** joined: the requester's display name, and whether their account is disabled */
  owner_name: string
  owner_disabled: boolean
}

export interface NewFileRequest {
  id: string
  ownerUserId: string
  title: string
  message: string | null
  passwordHash: string | null
  maxBytes: number | null
  maxFiles: number | null
  maxUses: number | null
  allowedTypes: string[]
  expiresAt: Date
}

export interface ReceivedRow {
  id: string
  status: 'uploading' | 'ready'
  total_size: number
  created_at: Date
  finalized_at: Date | null
  files: { name: string; path: string; size: number; type: string }[] | string
}

const COLUMNS = `r.*, u.name AS owner_name, (u.disabled_at IS NOT NULL) AS owner_disabled`

/** Why an upload was not reserved: the request's state after the refused statement. */
export type Reservation = { ok: true } | { ok: false; row: FileRequestRow | null }

export const requestsRepo = {
  async insert(q: Queryable, r: NewFileRequest): Promise<void> {
    await q.query(
      `INSERT INTO file_requests (id, owner_user_id, title, message, password_hash, max_bytes, max_files, max_uses, allowed_types, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10)`,
      [
        r.id,
        r.ownerUserId,
        r.title,
        r.message,
        r.passwordHash,
        r.maxBytes,
        r.maxFiles,
        r.maxUses,
        JSON.stringify(r.allowedTypes),
        r.expiresAt,
      ],
    )
  },

  async find(q: Queryable, id: string): Promise<FileRequestRow | null> {
    const rows = await q.query<FileRequestRow>(
      `SELECT ${COLUMNS} FROM file_requests r JOIN users u ON u.id = r.owner_user_id WHERE r.id = $1`,
      [id],
    )
    return rows[0] ? normalize(rows[0]) : null
  },

  /** Only the requester's own: another user's request id answers null, like an unknown one. */
  async findOwned(q: Queryable, id: string, userId: string): Promise<FileRequestRow | null> {
    const rows = await q.query<FileRequestRow>(
      `SELECT ${COLUMNS} FROM file_requests r JOIN users u ON u.id = r.owner_user_id WHERE r.id = $1 AND r.owner_user_id = $2`,
      [id, userId],
    )
    return rows[0] ? normalize(rows[0]) : null
  },

  async listOwned(q: Queryable, userId: string, limit: number): Promise<FileRequestRow[]> {
    const rows = await q.query<FileRequestRow>(
      `SELECT ${COLUMNS} FROM file_requests r JOIN users u ON u.id = r.owner_user_id WHERE r.owner_user_id = $1 ORDER BY r.created_at DESC LIMIT $2`,
      [userId, limit],
    )
    return rows.map(normalize)
  },

  /**
   * Reserves one use, `bytes` and `files` for a new upload, in one statement: it passes only while
   * the request is open and every limit still holds, so concurrent uploads cannot overshoot.
   */
  async reserve(q: Queryable, id: string, bytes: number, files: number): Promise<Reservation> {
    const rows = await q.query(
      `UPDATE file_requests SET used_bytes = used_bytes + $2, used_files = used_files + $3, uses = uses + 1
       WHERE id = $1 AND closed_at IS NULL AND expires_at > now()
         AND (max_bytes IS NULL OR used_bytes + $2 <= max_bytes)
         AND (max_files IS NULL OR used_files + $3 <= max_files)
         AND (max_uses IS NULL OR uses < max_uses)
       RETURNING id`,
      [id, bytes, files],
    )
    if (rows.length === 1) return { ok: true }
    return { ok: false, row: await this.find(q, id) }
  },

  /** Closing is final: the link takes no more uploads; what arrived stays. */
  async close(q: Queryable, id: string, userId: string): Promise<boolean> {
    const rows = await q.query(
      `UPDATE file_requests SET closed_at = coalesce(closed_at, now()) WHERE id = $1 AND owner_user_id = $2 RETURNING id`,
      [id, userId],
    )
    return rows.length === 1
  },

  /** The uploads into these requests that are not deleted, newest first, with their files. */
  async received(q: Queryable, requestIds: string[]): Promise<Map<string, ReceivedRow[]>> {
    const out = new Map<string, ReceivedRow[]>(requestIds.map((id) => [id, []]))
    if (requestIds.length === 0) return out
    const rows = await q.query<ReceivedRow & { request_id: string }>(
      `SELECT s.request_id, s.id, s.status, s.total_size, s.created_at, s.finalized_at,
         coalesce((SELECT json_agg(json_build_object('name', f.name, 'path', f.path, 'size', f.size, 'type', f.content_type) ORDER BY f.position)
                   FROM files f WHERE f.share_id = s.id), '[]'::json) AS files
       FROM shares s
       WHERE s.request_id = ANY($1::text[]) AND s.status IN ('uploading', 'ready')
       ORDER BY s.created_at DESC`,
      [requestIds],
    )
    for (const r of rows) out.get(r.request_id)?.push(r)
    return out
  },

  /**
   * Turns a received upload into a share: a new share row (ready, the requester's), the upload's
   * files moved to it, the upload row marked deleted. One transaction, no storage I/O.
   */
  async moveToShare(
    q: Queryable,
    uploadId: string,
    requestId: string,
    share: {
      id: string
      expiresAt: Date
      maxDownloads: number | null
      passwordHash: string | null
      note: string | null
      previews: boolean
      clientKey: string
    },
  ): Promise<{ bytes: number; files: number } | null> {
    const moved = await q.query(
      `UPDATE shares SET status = 'deleted', deleted_at = now(), deleted_by = 'owner', owner_token_hash = NULL
       WHERE id = $1 AND request_id = $2 AND status = 'ready' RETURNING owner_user_id, total_size, file_count`,
      [uploadId, requestId],
    )
    const from = moved[0] as { owner_user_id: string; total_size: number; file_count: number } | undefined
    if (!from) return null
    await q.query(
      `INSERT INTO shares (id, owner_user_id, owner_token_hash, password_hash, status, max_downloads, total_size, file_count, anonymous, client_key, expires_at, finalized_at, note, previews)
       VALUES ($1, $2, NULL, $3, 'ready', $4, $5, $6, false, $7, $8, now(), $9, $10)`,
      [
        share.id,
        from.owner_user_id,
        share.passwordHash,
        share.maxDownloads,
        from.total_size,
        from.file_count,
        share.clientKey,
        share.expiresAt,
        share.note,
        share.previews,
      ],
    )
    await q.query(`UPDATE files SET share_id = $2 WHERE share_id = $1`, [uploadId, share.id])
    return { bytes: Number(from.total_size), files: Number(from.file_count) }
  },
}

function normalize(row: FileRequestRow): FileRequestRow {
  return {
    ...row,
    allowed_types: typeof row.allowed_types === 'string' ? (JSON.parse(row.allowed_types) as string[]) : row.allowed_types,
    max_bytes: row.max_bytes === null ? null : Number(row.max_bytes),
    used_bytes: Number(row.used_bytes),
  }
}
