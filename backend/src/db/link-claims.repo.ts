import type { Db, Queryable } from './db'

/**
 * Direct downloads of `direct` shares ("one link, two paths"), kept as rows of the download history
 * (download_transfers) with `path` 'direct' or 'relay': a claim is an 'active' row from `link:claim`
 * until a host reports it delivered ('completed', counted once) or someone reports it failed.
 */
export interface NewClaim {
  id: string
  shareId: string
  ownerUserId: string | null
  /** the only file claimed, when there is one */
  fileId: string | null
  fileName: string
  clientIp: string
  userAgent: string | null
  device: string
  peerId: string
  leaseId: string | null
  /** null: every file of the share */
  files: string[] | null
  bytes: number
  instanceId: string
}

export interface ClaimRow {
  id: string
  share_id: string
  peer_id: string
  lease_id: string | null
  claimed_files: string[] | null
  length: number
  status: string
}

export type Delivery =
  | { kind: 'counted' | 'added'; bytes: number; fileId: string | null }
  /** no such active claim of this share (unknown, another share's, already settled) */
  | { kind: 'unknown' }
  /** the claim's lease lapsed or was given back before the delivery was reported */
  | { kind: 'lapsed' }

export const linkClaimsRepo = {
  async insert(q: Queryable, c: NewClaim): Promise<void> {
    await q.query(
      `INSERT INTO download_transfers (id, share_id, file_id, owner_user_id, file_name, source, client_ip, user_agent, range_start, length, total, status, instance_id, path, device, peer_id, lease_id, claimed_files)
       VALUES ($1, $2, $3, $4, $5, 'sender', $6, $7, 0, $8, $8, 'active', $9, 'direct', $10, $11, $12, $13::text[])`,
      [c.id, c.shareId, c.fileId, c.ownerUserId, c.fileName, c.clientIp, c.userAgent, c.bytes, c.instanceId, c.device, c.peerId, c.leaseId, c.files],
    )
  },

  /** An active claim of this share. */
  async active(q: Queryable, shareId: string, claimId: string): Promise<ClaimRow | null> {
    const rows = await q.query<ClaimRow>(
      `SELECT id, share_id, peer_id, lease_id, claimed_files, length, status FROM download_transfers
       WHERE id = $1 AND share_id = $2 AND peer_id IS NOT NULL AND status = 'active'`,
      [claimId, shareId],
    )
    return rows[0] ?? null
  },

  /**
   * The host's report: the claim is settled as delivered and the download counted, in one
   * transaction. A limited share's lease counts the share's download once (`counted`; a lease that
   * already counted one — its holder fetched a cloud file first — only adds, `added`); an unlimited
   * share gets one download event.
   */
  async deliver(db: Db, o: { shareId: string; claimId: string; bytes: number; path: 'direct' | 'relay' }): Promise<Delivery> {
    return db.tx(async (q) => {
      const [claim] = await q.query<ClaimRow>(
        `SELECT id, share_id, peer_id, lease_id, claimed_files, length, status FROM download_transfers
         WHERE id = $1 AND share_id = $2 AND peer_id IS NOT NULL AND status = 'active' FOR UPDATE`,
        [o.claimId, o.shareId],
      )
      if (!claim) return { kind: 'unknown' } as const
      const files = claim.claimed_files ?? (await q.query<{ id: string }>(`SELECT id FROM files WHERE share_id = $1 ORDER BY position`, [o.shareId])).map((f) => f.id)
      const bytes = Math.min(o.bytes, Number(claim.length))
      const fileId = files.length === 1 ? files[0]! : null
      let kind: 'counted' | 'added' = 'counted'
      if (claim.lease_id) {
        const [lease] = await q.query<{ live: boolean; counted: boolean; user_id: string | null }>(
          `SELECT (released_at IS NULL AND expires_at > now()) AS live, counted_at IS NOT NULL AS counted, user_id FROM download_leases WHERE id = $1 AND share_id = $2 FOR UPDATE`,
          [claim.lease_id, o.shareId],
        )
        if (!lease || !lease.live) return { kind: 'lapsed' } as const
        await q.query(
          `UPDATE download_leases SET counted_at = coalesce(counted_at, now()),
             completed_files = ARRAY(SELECT DISTINCT unnest(completed_files || $2::text[]))
           WHERE id = $1`,
          [claim.lease_id, files],
        )
        if (lease.counted) {
          await q.query(`UPDATE download_events SET bytes = bytes + $2 WHERE lease_id = $1`, [claim.lease_id, bytes])
          kind = 'added'
        } else {
          await q.query(`UPDATE shares SET downloads = downloads + 1, last_download_at = now() WHERE id = $1`, [o.shareId])
          await q.query(`INSERT INTO download_events (share_id, file_id, bytes, user_id, lease_id) VALUES ($1, $2, $3, $4, $5)`, [o.shareId, fileId, bytes, lease.user_id, claim.lease_id])
        }
      } else {
        await q.query(`UPDATE shares SET last_download_at = now() WHERE id = $1`, [o.shareId])
        await q.query(`INSERT INTO download_events (share_id, file_id, bytes) VALUES ($1, $2, $3)`, [o.shareId, fileId, bytes])
      }
      await q.query(`UPDATE download_transfers SET status = 'completed', path = $2, bytes = $3, updated_at = now(), ended_at = now() WHERE id = $1`, [o.claimId, o.path, bytes])
      return { kind, bytes, fileId }
    })
  },

  /** The claim failed (its lease is left alone: it stays with the recipient for the cloud copy). */
  async fail(q: Queryable, o: { shareId: string; claimId: string; peerId?: string }): Promise<boolean> {
    const rows = await q.query(
      `UPDATE download_transfers SET status = 'failed', updated_at = now(), ended_at = now()
       WHERE id = $1 AND share_id = $2 AND peer_id IS NOT NULL AND status = 'active' ${o.peerId !== undefined ? 'AND peer_id = $3' : ''} RETURNING id`,
      o.peerId !== undefined ? [o.claimId, o.shareId, o.peerId] : [o.claimId, o.shareId],
    )
    return rows.length === 1
  },

  /** The recipient is still seated: its active claims stay active; answers them with their leases. */
  async touch(q: Queryable, claimIds: string[]): Promise<{ id: string; lease_id: string | null }[]> {
    if (claimIds.length === 0) return []
    return q.query<{ id: string; lease_id: string | null }>(
      `UPDATE download_transfers SET updated_at = now() WHERE id = ANY($1::text[]) AND status = 'active' AND peer_id IS NOT NULL RETURNING id, lease_id`,
      [claimIds],
    )
  },
}
