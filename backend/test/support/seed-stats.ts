/**
 * Seeds statistics at scale with generate_series (no rows through JavaScript): 1 000 users,
 * `shares` shares of one file each (a third anonymous, a tenth deleted, spread over a year),
 * `downloads` download events and `p2p` P2P reports. Used by the admin scale test and bench.
 */
import type { Queryable } from '../../src/db/db'

export async function seedStats(db: Queryable, n: { shares: number; downloads: number; p2p: number }): Promise<void> {
  await db.query(
    `INSERT INTO users (id, email, name) SELECT 'benchuser' || lpad(g::text, 8, '0'), 'user' || g || '@bench.test', 'User ' || g FROM generate_series(1, 1000) g`,
  )
  await db.query(
    `INSERT INTO shares (id, owner_user_id, status, downloads, total_size, file_count, anonymous, client_key, expires_at, created_at, finalized_at)
     SELECT 'benchshare' || lpad(g::text, 12, '0'),
            CASE WHEN g % 3 = 0 THEN NULL ELSE 'benchuser' || lpad((g % 1000 + 1)::text, 8, '0') END,
            CASE WHEN g % 10 = 0 THEN 'deleted' ELSE 'ready' END,
            (g * 7) % 50, 1000 + (g % 100000) * 37, 1, g % 3 = 0, 'bench',
            now() + ((g % 60) - 20) * interval '1 day',
            now() - (g % 365) * interval '1 day' - (g % 86400) * interval '1 second',
            now() - (g % 365) * interval '1 day'
     FROM generate_series(1, $1::int) g`,
    [n.shares],
  )
  await db.query(
    `INSERT INTO files (id, share_id, position, name, size, content_type, storage_key, part_size, part_count, completed_at)
     SELECT 'benchfile' || lpad(g::text, 12, '0'), 'benchshare' || lpad(g::text, 12, '0'), 0, 'file-' || g || '.bin',
            1000 + (g % 100000) * 37, 'application/octet-stream', 'bench/' || g, 0, 0, now()
     FROM generate_series(1, $1::int) g`,
    [n.shares],
  )
  await db.query(
    `INSERT INTO download_events (share_id, file_id, bytes, at)
     SELECT 'benchshare' || lpad((g % $2::int + 1)::text, 12, '0'), 'benchfile' || lpad((g % $2::int + 1)::text, 12, '0'),
            1000 + (g % 5000) * 13, now() - (g % 365) * interval '1 day' - (g % 86400) * interval '1 second'
     FROM generate_series(1, $1::int) g`,
    [n.downloads, n.shares],
  )
  await db.query(
    `INSERT INTO p2p_transfers (id, room_id, bytes, files, ms, status, created_at)
     SELECT 'benchp2p' || g, 'room' || (g % 500), 1000 * g, 1 + g % 4, 100 + g % 9000,
            (ARRAY['completed', 'completed', 'completed', 'cancelled', 'failed'])[g % 5 + 1], now() - (g % 365) * interval '1 day'
     FROM generate_series(1, $1::int) g`,
    [n.p2p],
  )
}
