import type { Queryable } from './db'

export interface ShareRow {
  id: string
  owner_user_id: string | null
  owner_token_hash: string | null
  password_hash: string | null
  /** 'deleting': claimed for deletion (404 for everyone), its blobs still being removed */
  status: 'uploading' | 'ready' | 'deleting' | 'deleted'
  /** End-to-end encrypted: file names are placeholders; `metadata` is the opaque envelope. */
  encrypted: boolean
  metadata: string | null
  /** 'text': a text-only share (its text in `text`, or in the envelope when encrypted) */
  kind: 'files' | 'text'
  text: string | null
  note: string | null
  /** the owner lets recipients preview files */
  previews: boolean
  /** set on an upload into a file request: the requester's, never a link anyone can open */
  request_id: string | null
  max_downloads: number | null
  downloads: number
  last_download_at: Date | null
  total_size: number
  file_count: number
  anonymous: boolean
  client_key: string
  expires_at: Date
  created_at: Date
  finalized_at: Date | null
  /** a file left in this P2P room (never reached by its link), by the member `left_by` */
  room_id: string | null
  left_by: string | null
  left_by_name: string | null
  /** served directly by the owner's page too (a link room); visible from its creation */
  direct: boolean
  /** false: no file bytes are ever uploaded (a `direct` share served only by its owner's page) */
  cloud_copy: boolean
}

export interface FileRow {
  id: string
  share_id: string
  position: number
  name: string
  /** the folder the file is in, inside the share ('' at the top) */
  path: string
  size: number
  content_type: string
  storage_key: string
  upload_id: string | null
  part_size: number
  part_count: number
  downloads: number
  completed_at: Date | null
}

export interface NewShare {
  id: string
  ownerUserId: string | null
  ownerTokenHash: string | null
  passwordHash: string | null
  maxDownloads: number | null
  expiresAt: Date
  anonymous: boolean
  clientKey: string
  status: 'uploading' | 'ready'
  /** The encrypted metadata envelope of an end-to-end encrypted share; null for a plain one. */
  encryptedMetadata?: string | null
  kind?: 'files' | 'text'
  text?: string | null
  note?: string | null
  previews?: boolean
  /** an upload into this file request */
  requestId?: string | null
  /** one link, two paths (see ShareRow.direct / cloud_copy) */
  direct?: boolean
  cloudCopy?: boolean
}

export interface NewFile {
  id: string
  position: number
  name: string
  /** '' at the top of the share */
  path?: string
  size: number
  contentType: string
  storageKey: string
  uploadId: string | null
  partSize: number
  partCount: number
}

/**
 * A share is live (downloadable) when ready, not expired, not an upload into a file request, and its owner is not disabled (a disabled
 * owner's links answer the same 404 as any dead link); a recipient may start a download while it
 * has downloads left. A download of a share is the whole share: `downloads` counts downloads of the
 * share (for limited shares: leases whose first file was sent completely), never of single files.
 * A file left in a room (room_id set) is never live as a link: only the room's members reach it.
 * A `direct` share is live from its creation (its owner's page serves it while the cloud copy is
 * uploading, or when there is none): the cloud routes check that its copy is ready (CLOUD_READY).
 */
export const LIVE = `(s.status = 'ready' OR (s.status = 'uploading' AND s.direct)) AND s.expires_at > now() AND s.request_id IS NULL AND s.room_id IS NULL
  AND NOT EXISTS (SELECT 1 FROM users du WHERE du.id = s.owner_user_id AND du.disabled_at IS NOT NULL)`
/** The share's files are in storage (finalized): what every cloud download route needs besides LIVE. */
export const CLOUD_READY = `s.status = 'ready'`
export const HAS_DOWNLOADS_LEFT = `(s.max_downloads IS NULL OR s.downloads < s.max_downloads)`

export const sharesRepo = {
  async insertShare(q: Queryable, s: NewShare, files: NewFile[]): Promise<void> {
    const total = files.reduce((n, f) => n + f.size, 0)
    await q.query(
      `INSERT INTO shares (id, owner_user_id, owner_token_hash, password_hash, status, max_downloads, total_size, file_count, anonymous, client_key, expires_at, finalized_at, encrypted, metadata, kind, text, note, previews, request_id, direct, cloud_copy)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, CASE WHEN $5 = 'ready' THEN now() END, $12::text IS NOT NULL, $12, $13, $14, $15, $16, $17, $18, $19)`,
      [
        s.id,
        s.ownerUserId,
        s.ownerTokenHash,
        s.passwordHash,
        s.status,
        s.maxDownloads,
        total,
        files.length,
        s.anonymous,
        s.clientKey,
        s.expiresAt,
        s.encryptedMetadata ?? null,
        s.kind ?? 'files',
        s.text ?? null,
        s.note ?? null,
        s.previews ?? true,
        s.requestId ?? null,
        s.direct ?? false,
        s.cloudCopy ?? true,
      ],
    )
    for (const f of files) await this.insertFile(q, s.id, f)
  },

  async insertFile(q: Queryable, shareId: string, f: NewFile): Promise<void> {
    await q.query(
      `INSERT INTO files (id, share_id, position, name, size, content_type, storage_key, upload_id, part_size, part_count, path)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [f.id, shareId, f.position, f.name, f.size, f.contentType, f.storageKey, f.uploadId, f.partSize, f.partCount, f.path ?? ''],
    )
  },

  /** Any share not being or already deleted (uploader routes: uploading or ready). */
  async findActive(q: Queryable, id: string): Promise<ShareRow | null> {
    const rows = await q.query<ShareRow>(`SELECT * FROM shares WHERE id = $1 AND status IN ('uploading', 'ready')`, [id])
    return rows[0] ?? null
  },

  /** A share a recipient may see: ready, not expired, not exhausted. */
  async findLive(q: Queryable, id: string): Promise<ShareRow | null> {
    const rows = await q.query<ShareRow>(`SELECT s.* FROM shares s WHERE s.id = $1 AND ${LIVE} AND ${HAS_DOWNLOADS_LEFT}`, [id])
    return rows[0] ?? null
  },

  /** Downloads of a share (one event per counted download) and when the last one happened. */
  async downloadTally(q: Queryable, shareId: string): Promise<{ n: number; last: Date | null }> {
    const [row] = await q.query<{ n: number; last: Date | null }>(`SELECT count(*)::int8 AS n, max(at) AS last FROM download_events WHERE share_id = $1`, [shareId])
    return { n: Number(row?.n ?? 0), last: row?.last ? new Date(row.last) : null }
  },

  async files(q: Queryable, shareId: string): Promise<FileRow[]> {
    return q.query<FileRow>(`SELECT * FROM files WHERE share_id = $1 ORDER BY position`, [shareId])
  },

  async file(q: Queryable, shareId: string, fileId: string): Promise<FileRow | null> {
    const rows = await q.query<FileRow>(`SELECT * FROM files WHERE share_id = $1 AND id = $2`, [shareId, fileId])
    return rows[0] ?? null
  },

  async markFileComplete(q: Queryable, fileId: string, size: number): Promise<void> {
    await q.query(`UPDATE files SET completed_at = now(), upload_id = NULL, size = $2 WHERE id = $1`, [fileId, size])
  },

  /** A multipart upload the store started for this file (curl streaming to S3): recorded before its first part. */
  async recordUpload(q: Queryable, fileId: string, uploadId: string): Promise<void> {
    await q.query(`UPDATE files SET upload_id = $2 WHERE id = $1 AND completed_at IS NULL`, [fileId, uploadId])
  },

  /**
   * uploading -> ready, only when every file is complete. Returns false when some file is not.
   * With `options`, the share's options are set by the same statement: it is never downloadable
   * with other options than these.
   */
  async finalize(
    q: Queryable,
    shareId: string,
    options?: { expiresAt: Date; maxDownloads: number | null; passwordHash: string | null; note?: string | null; previews?: boolean },
  ): Promise<boolean> {
    const set = options ? `, expires_at = $2, max_downloads = $3, password_hash = $4, note = coalesce($5, note), previews = coalesce($6, previews)` : ''
    const rows = await q.query(
      `UPDATE shares s SET status = 'ready', finalized_at = now(),
         total_size = (SELECT coalesce(sum(size), 0) FROM files WHERE share_id = s.id),
         file_count = (SELECT count(*) FROM files WHERE share_id = s.id)${set}
       WHERE s.id = $1 AND s.status = 'uploading'
         AND NOT EXISTS (SELECT 1 FROM files f WHERE f.share_id = s.id AND f.completed_at IS NULL)
       RETURNING s.id`,
      options ? [shareId, options.expiresAt, options.maxDownloads, options.passwordHash, options.note ?? null, options.previews ?? null] : [shareId],
    )
    return rows.length === 1
  },

  /** Swaps a share's password hash for a stronger one, only if it is still `from` (no lost update). */
  async replacePasswordHash(q: Queryable, shareId: string, from: string, to: string): Promise<boolean> {
    const rows = await q.query(`UPDATE shares SET password_hash = $3 WHERE id = $1 AND password_hash = $2 RETURNING id`, [shareId, from, to])
    return rows.length === 1
  },

  /** Hard delete (files cascade): for uploads that failed before they were ever a share. */
  async deleteRows(q: Queryable, shareId: string): Promise<void> {
    await q.query(`DELETE FROM shares WHERE id = $1`, [shareId])
  },

  /**
   * Claims a share for deletion in one statement: from now on it answers 404 everywhere. The claim
   * reserves the work for `workSeconds` (another instance takes it over only after that).
   */
  async claimForDelete(q: Queryable, shareId: string, o: { by: DeletedBy; workSeconds: number }): Promise<boolean> {
    const rows = await q.query(
      `UPDATE shares SET status = 'deleting', deleted_by = $2, delete_after = now() + make_interval(secs => $3)
       WHERE id = $1 AND status IN ('uploading', 'ready') RETURNING id`,
      [shareId, o.by, o.workSeconds],
    )
    return rows.length === 1
  },

  /**
   * The janitor's batch, claimed in one statement (SKIP LOCKED: instances never take the same share):
   * expired shares; exhausted ones (after a grace period, and never while a lease holder is still
   * fetching its files); uploads abandoned for longer than `staleSeconds`; and shares left 'deleting'
   * whose back-off is over (a failed blob delete, or an instance that died mid-way). `fresh`: newly
   * claimed (not a retry).
   */
  async claimForJanitor(q: Queryable, o: { limit: number; exhaustedGraceSeconds: number; staleSeconds: number; workSeconds: number }): Promise<{ id: string; fresh: boolean; by: DeletedBy }[]> {
    return q.query<{ id: string; fresh: boolean; by: DeletedBy }>(
      `WITH picked AS (
         SELECT s.id, s.status <> 'deleting' AS fresh FROM shares s
         WHERE (s.status IN ('uploading', 'ready') AND (
             s.expires_at <= now()
             OR (s.status = 'uploading' AND NOT s.direct AND s.created_at < now() - make_interval(secs => $3))
             OR ((s.status = 'ready' OR s.direct) AND s.max_downloads IS NOT NULL
                 AND coalesce(s.last_download_at, s.created_at) < now() - make_interval(secs => $2)
                 AND NOT ${HAS_DOWNLOADS_LEFT}
                 AND NOT EXISTS (SELECT 1 FROM download_leases l WHERE l.share_id = s.id AND l.released_at IS NULL AND l.expires_at > now()))))
           OR (s.status = 'deleting' AND s.delete_after <= now())
         ORDER BY s.expires_at
         LIMIT $1
         FOR UPDATE SKIP LOCKED
       )
       UPDATE shares s SET status = 'deleting', deleted_by = coalesce(s.deleted_by, 'janitor'), delete_after = now() + make_interval(secs => $4)
       FROM picked WHERE s.id = picked.id
       RETURNING s.id, picked.fresh, s.deleted_by AS "by"`,
      [o.limit, o.exhaustedGraceSeconds, o.staleSeconds, o.workSeconds],
    )
  },

  /**
   * The work is done: the blobs are gone. Only shares still claimed ('deleting'). What the sender
   * wrote goes with the files: a deleted share keeps no text, note or envelope.
   */
  async markDeleted(q: Queryable, shareIds: string[]): Promise<void> {
    if (shareIds.length === 0) return
    await q.query(`UPDATE shares SET status = 'deleted', deleted_at = now(), delete_after = NULL, delete_error = NULL, text = NULL, note = NULL, metadata = NULL WHERE id = ANY($1::text[]) AND status = 'deleting'`, [shareIds])
    await q.query(`UPDATE files SET blob_deleted_at = now(), upload_id = NULL WHERE share_id = ANY($1::text[])`, [shareIds])
  },

  /** A blob delete failed: count it and back off (30 s, doubling, at most an hour). The share stays 'deleting'. */
  async deleteFailed(q: Queryable, shareId: string, error: string): Promise<void> {
    await q.query(
      `UPDATE shares SET delete_attempts = delete_attempts + 1, delete_error = left($2, 500),
         delete_after = now() + make_interval(secs => least(3600, 30 * power(2, least(delete_attempts, 12))))
       WHERE id = $1 AND status = 'deleting'`,
      [shareId, error],
    )
  },
}

export type DeletedBy = 'owner' | 'admin' | 'janitor'
