import type { DownloadStatus, DownloadsQuery, MonitoredDownload } from '@sharesync/protocol'
import { recipientName } from '../rooms/device-name'
import type { Queryable } from './db'

export interface NewTransfer {
  id: string
  shareId: string
  fileId: string | null
  ownerUserId: string | null
  fileName: string
  source: MonitoredDownload['source']
  clientIp: string
  userAgent: string | null
  offset: number
  length: number
  total: number
  instanceId: string
}

interface TransferRow {
  id: string
  share_id: string
  file_id: string | null
  file_name: string
  source: MonitoredDownload['source']
  client_ip: string
  user_agent: string | null
  range_start: number
  length: number
  total: number
  bytes: number
  status: DownloadStatus
  started_at: Date
  updated_at: Date
  ended_at: Date | null
  path: 'cloud' | 'direct' | 'relay'
  device: string | null
}

/** A row as the API shows it (speed is only known live: 0 in the history). */
export function toMonitored(r: TransferRow): MonitoredDownload {
  return {
    id: r.id,
    shareId: r.share_id,
    fileId: r.file_id,
    fileName: r.file_name,
    source: r.source,
    path: r.path ?? 'cloud',
    device: r.device ?? recipientName(r.user_agent),
    client: { ip: r.client_ip, userAgent: r.user_agent },
    bytes: r.bytes,
    offset: r.range_start,
    length: r.length,
    total: r.total,
    percent: r.total > 0 ? Math.min(100, ((r.range_start + r.bytes) / r.total) * 100) : 100,
    speed: 0,
    status: r.status,
    startedAt: new Date(r.started_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
    endedAt: r.ended_at ? new Date(r.ended_at).toISOString() : null,
  }
}

/** An 'active' row not updated for this long belongs to an instance that died mid-download. */
export const LOST_AFTER_SECONDS = 60

const FILTERS: Record<DownloadsQuery['status'], string> = {
  active: `t.status = 'active' AND t.updated_at > now() - make_interval(secs => ${LOST_AFTER_SECONDS})`,
  finished: `t.status <> 'active'`,
  all: 'TRUE',
}

/** The download monitor's history (download_transfers): one row per app-served response. */
export const transfersRepo = {
  async insert(q: Queryable, t: NewTransfer): Promise<void> {
    await q.query(
      `INSERT INTO download_transfers (id, share_id, file_id, owner_user_id, file_name, source, client_ip, user_agent, range_start, length, total, status, instance_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', $12)`,
      [t.id, t.shareId, t.fileId, t.ownerUserId, t.fileName, t.source, t.clientIp, t.userAgent, t.offset, t.length, t.total, t.instanceId],
    )
  },

  async heartbeat(q: Queryable, id: string, bytes: number): Promise<void> {
    await q.query(`UPDATE download_transfers SET bytes = $2, updated_at = now() WHERE id = $1 AND status = 'active'`, [id, bytes])
  },

  async finish(q: Queryable, id: string, bytes: number, status: DownloadStatus): Promise<void> {
    await q.query(`UPDATE download_transfers SET bytes = $2, status = $3, updated_at = now(), ended_at = now() WHERE id = $1`, [
      id,
      bytes,
      status,
    ])
  },

  /** Rows of instances that died mid-download become 'aborted'. */
  async reapLost(q: Queryable): Promise<number> {
    const rows = await q.query(
      `UPDATE download_transfers SET status = 'aborted', ended_at = updated_at
       WHERE status = 'active' AND updated_at < now() - make_interval(secs => ${LOST_AFTER_SECONDS}) RETURNING id`,
    )
    return rows.length
  },

  /** One page, newest first; `ownerUserId` scopes it to one owner's shares (My shares). */
  async list(q: Queryable, query: DownloadsQuery, ownerUserId?: string): Promise<{ items: MonitoredDownload[]; total: number }> {
    const params: unknown[] = []
    let where = FILTERS[query.status]
    if (ownerUserId !== undefined) {
      params.push(ownerUserId)
      where += ` AND t.owner_user_id = $${params.length}`
    }
    if (query.shareId) {
      params.push(query.shareId)
      where += ` AND t.share_id = $${params.length}`
    }
    const n = params.length
    const rows = await q.query<TransferRow>(
      `SELECT * FROM download_transfers t WHERE ${where} ORDER BY t.started_at DESC, t.id LIMIT $${n + 1} OFFSET $${n + 2}`,
      [...params, query.limit, query.offset],
    )
    const [count] = await q.query<{ n: number }>(`SELECT count(*)::int8 AS n FROM download_transfers t WHERE ${where}`, params)
    return { items: rows.map(toMonitored), total: count?.n ?? 0 }
  },

  async find(q: Queryable, id: string): Promise<(MonitoredDownload & { ownerUserId: string | null }) | null> {
    const rows = await q.query<TransferRow & { owner_user_id: string | null }>(`SELECT * FROM download_transfers WHERE id = $1`, [id])
    const r = rows[0]
    return r ? { ...toMonitored(r), ownerUserId: r.owner_user_id } : null
  },

  /** The share and owner behind a storage key (the disk store's blob URLs carry only the key). */
  async fileByStorageKey(
    q: Queryable,
    key: string,
  ): Promise<{ shareId: string; fileId: string; name: string; ownerUserId: string | null } | null> {
    const rows = await q.query<{ share_id: string; id: string; name: string; owner_user_id: string | null }>(
      `SELECT f.share_id, f.id, f.name, s.owner_user_id FROM files f JOIN shares s ON s.id = f.share_id WHERE f.storage_key = $1`,
      [key],
    )
    const r = rows[0]
    return r ? { shareId: r.share_id, fileId: r.id, name: r.name, ownerUserId: r.owner_user_id } : null
  },
}
