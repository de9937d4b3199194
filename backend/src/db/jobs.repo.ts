import type { Queryable } from './db'

/** Storage the reconciler found: which of it the database still references. */
export const jobsRepo = {
  /** Of these object keys, those a file row of a share not yet deleted still names. */
  async referencedKeys(q: Queryable, keys: string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set()
    const rows = await q.query<{ storage_key: string }>(
      `SELECT f.storage_key FROM files f JOIN shares s ON s.id = f.share_id
       WHERE f.storage_key = ANY($1::text[]) AND s.status <> 'deleted'`,
      [keys],
    )
    return new Set(rows.map((r) => r.storage_key))
  },

  /**
   * Of these multipart uploads, those still wanted: recorded on a file row (its upload id), or
   * writing the object of a file not yet complete (an upload whose id the server never recorded,
   * e.g. a curl upload streaming right now) — of a share not yet deleted.
   */
  async referencedUploads(q: Queryable, uploads: { key: string; uploadId: string }[]): Promise<Set<string>> {
    if (uploads.length === 0) return new Set()
    const rows = await q.query<{ upload_id: string }>(
      `SELECT u.upload_id FROM unnest($1::text[], $2::text[]) AS u(storage_key, upload_id)
       WHERE EXISTS (
         SELECT 1 FROM files f JOIN shares s ON s.id = f.share_id
         WHERE s.status <> 'deleted' AND (f.upload_id = u.upload_id OR (f.storage_key = u.storage_key AND f.completed_at IS NULL)))`,
      [uploads.map((u) => u.key), uploads.map((u) => u.uploadId)],
    )
    return new Set(rows.map((r) => r.upload_id))
  },

  /**
   * Completed files of ready shares (uploads, not library links) completed more than `graceSeconds`
   * ago, in id order after `afterId`: the ones whose object the reconciler checks is still there.
   */
  async completedFiles(q: Queryable, o: { afterId: string; limit: number; graceSeconds: number }): Promise<{ id: string; share_id: string; storage_key: string; size: number }[]> {
    return q.query(
      `SELECT f.id, f.share_id, f.storage_key, f.size::float8 AS size FROM files f JOIN shares s ON s.id = f.share_id
       WHERE f.id > $1 AND s.status = 'ready' AND s.source = 'upload'
         AND f.completed_at < now() - make_interval(secs => $3)
       ORDER BY f.id LIMIT $2`,
      [o.afterId, o.limit, o.graceSeconds],
    )
  },

  /** Of these shares, those still ready. */
  async readyShares(q: Queryable, shareIds: string[]): Promise<Set<string>> {
    if (shareIds.length === 0) return new Set()
    const rows = await q.query<{ id: string }>(`SELECT id FROM shares WHERE id = ANY($1::text[]) AND status = 'ready'`, [shareIds])
    return new Set(rows.map((r) => r.id))
  },

  /**
   * Claims the next run of a job for `holdSeconds`; null when another instance holds it or it is not
   * due yet, else what the previous run recorded. Needs no open connection while the job runs.
   */
  async claimRun(q: Queryable, name: string, holdSeconds: number): Promise<{ lastResult: unknown } | null> {
    const rows = await q.query<{ last_result: unknown }>(
      `INSERT INTO job_runs (name, locked_until) VALUES ($1, now() + make_interval(secs => $2))
       ON CONFLICT (name) DO UPDATE SET locked_until = EXCLUDED.locked_until WHERE job_runs.locked_until <= now()
       RETURNING last_result`,
      [name, holdSeconds],
    )
    return rows[0] ? { lastResult: rows[0].last_result } : null
  },

  /** Records a finished run; no instance starts the next one for `nextInSeconds`. */
  async finishRun(q: Queryable, name: string, result: unknown, nextInSeconds: number): Promise<void> {
    await q.query(`UPDATE job_runs SET last_run_at = now(), last_result = $2::jsonb, locked_until = now() + make_interval(secs => $3) WHERE name = $1`, [
      name,
      JSON.stringify(result),
      nextInSeconds,
    ])
  },
}
