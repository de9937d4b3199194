import type { Queryable } from './db'

/** A file left in a room: its share (one file per share) and that file. */
export interface RoomFileRow {
  id: string
  room_id: string
  status: 'uploading' | 'ready'
  left_by: string
  left_by_name: string
  expires_at: Date
  created_at: Date
  finalized_at: Date | null
  file_id: string
  name: string
  size: number
  content_type: string
  storage_key: string
}

const SELECT = `SELECT s.id, s.room_id, s.status, s.left_by, s.left_by_name, s.expires_at, s.created_at, s.finalized_at,
    f.id AS file_id, f.name, f.size, f.content_type, f.storage_key
  FROM shares s JOIN files f ON f.share_id = s.id`
/** Not claimed for deletion and not expired (the janitor deletes expired ones with their blobs). */
const ALIVE = `s.status IN ('uploading', 'ready') AND s.expires_at > now()`

export const roomFilesRepo = {
  /** Marks a new share (inserted in the same transaction) as a file left in `roomId` by `peerId`. */
  async attach(q: Queryable, shareId: string, roomId: string, by: { peerId: string; name: string }): Promise<void> {
    await q.query(`UPDATE shares SET room_id = $2, left_by = $3, left_by_name = $4 WHERE id = $1`, [shareId, roomId, by.peerId, by.name])
  },

  /** The room's files everyone may download (uploaded), oldest first. */
  async listReady(q: Queryable, roomId: string): Promise<RoomFileRow[]> {
    return q.query<RoomFileRow>(`${SELECT} WHERE s.room_id = $1 AND s.status = 'ready' AND s.expires_at > now() ORDER BY s.finalized_at, s.id`, [roomId])
  },

  /** One file of this room (uploading or uploaded), or null (another room's, expired, removed). */
  async find(q: Queryable, roomId: string, shareId: string): Promise<RoomFileRow | null> {
    const rows = await q.query<RoomFileRow>(`${SELECT} WHERE s.id = $1 AND s.room_id = $2 AND ${ALIVE}`, [shareId, roomId])
    return rows[0] ?? null
  },

  /** Files the room holds or is receiving (the ROOM_FILES_MAX bound counts both). */
  async count(q: Queryable, roomId: string): Promise<number> {
    const [row] = await q.query<{ n: number }>(`SELECT count(*)::int4 AS n FROM shares s WHERE s.room_id = $1 AND ${ALIVE}`, [roomId])
    return Number(row?.n ?? 0)
  },

  /** When the room's last file expires (the room is kept until then), or null when it holds none. */
  async keptUntil(q: Queryable, roomId: string): Promise<Date | null> {
    const [row] = await q.query<{ until: Date | null }>(`SELECT max(s.expires_at) AS until FROM shares s WHERE s.room_id = $1 AND ${ALIVE}`, [roomId])
    return row?.until ? new Date(row.until) : null
  },
}
