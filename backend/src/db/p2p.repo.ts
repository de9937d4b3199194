import { randomUUID } from 'node:crypto'
import type { TransferStatus } from '@sharesync/protocol'
import type { Queryable } from './db'

export interface TransferReportRow {
  id: string
  roomId: string
  bytes: number
  files: number
  ms: number
  status: TransferStatus
  senderUserId: string | null
  createdAt: Date
}

export interface P2pTotals {
  transfers: number
  completed: number
  bytes: number
  files: number
  /** mean throughput of completed transfers, bytes per second (0 without any) */
  avgBytesPerSecond: number
}

/** SQL of the p2p_transfers table: one row per `transfer:report` (stats only). */
export function p2pRepo(db: Queryable) {
  return {
    async insertReport(r: Omit<TransferReportRow, 'id' | 'createdAt'>): Promise<string> {
      const id = randomUUID()
      await db.query(
        'INSERT INTO p2p_transfers (id, room_id, bytes, files, ms, status, sender_user_id) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [id, r.roomId, r.bytes, r.files, r.ms, r.status, r.senderUserId],
      )
      return id
    },

    async recent(limit = 50): Promise<TransferReportRow[]> {
      const rows = await db.query<{ id: string; room_id: string; bytes: number; files: number; ms: number; status: TransferStatus; sender_user_id: string | null; created_at: Date }>(
        'SELECT id, room_id, bytes, files, ms, status, sender_user_id, created_at FROM p2p_transfers ORDER BY created_at DESC LIMIT $1',
        [limit],
      )
      return rows.map((r) => ({ id: r.id, roomId: r.room_id, bytes: r.bytes, files: r.files, ms: r.ms, status: r.status, senderUserId: r.sender_user_id, createdAt: new Date(r.created_at) }))
    },

    /** One end of a server relay channel closed: what it sent. */
    async insertRelayEnd(r: { relayId: string; roomId: string; opener: boolean; bytes: number; ms: number; reason: string }): Promise<void> {
      await db.query('INSERT INTO p2p_relays (relay_id, room_id, opener, bytes, ms, reason) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING', [
        r.relayId,
        r.roomId,
        r.opener,
        r.bytes,
        r.ms,
        r.reason,
      ])
    },

    /** Totals since `since` (for the admin dashboard). */
    async totals(since: Date): Promise<P2pTotals> {
      const [row] = await db.query<{ transfers: number; completed: number; bytes: number | null; files: number | null; done_bytes: number | null; done_ms: number | null }>(
        `SELECT count(*)::int8 AS transfers,
                count(*) FILTER (WHERE status = 'completed')::int8 AS completed,
                sum(bytes)::int8 AS bytes, sum(files)::int8 AS files,
                sum(bytes) FILTER (WHERE status = 'completed')::int8 AS done_bytes,
                sum(ms) FILTER (WHERE status = 'completed')::int8 AS done_ms
           FROM p2p_transfers WHERE created_at >= $1`,
        [since.toISOString()],
      )
      const doneMs = row?.done_ms ?? 0
      return {
        transfers: row?.transfers ?? 0,
        completed: row?.completed ?? 0,
        bytes: row?.bytes ?? 0,
        files: row?.files ?? 0,
        avgBytesPerSecond: doneMs > 0 ? Math.round(((row?.done_bytes ?? 0) * 1000) / doneMs) : 0,
      }
    },
  }
}
