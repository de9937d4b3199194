import type { Queryable } from './db'

export interface LibraryEntryRow {
  file_id: string
  position: number
  path: string
  rel: string
  kind: 'file' | 'folder'
  size: number
  mtime_ms: number
  ino: number
}

export type NewLibraryEntry = Omit<LibraryEntryRow, 'file_id' | 'position'>

/** Library links (see 005_library_monitor_notify.sql) and who may make them. */
export const libraryRepo = {
  async markLibraryShare(q: Queryable, shareId: string): Promise<void> {
    await q.query(`UPDATE shares SET source = 'library' WHERE id = $1`, [shareId])
  },

  async insertEntries(q: Queryable, fileId: string, entries: NewLibraryEntry[]): Promise<void> {
    // Batches of rows per statement: a folder link may hold thousands of entries.
    for (let i = 0; i < entries.length; i += 500) {
      const batch = entries.slice(i, i + 500)
      const params: unknown[] = []
      const values = batch.map((e, j) => {
        params.push(fileId, i + j, e.path, e.rel, e.kind, e.size, e.mtime_ms, e.ino)
        const b = j * 8
        return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}, $${b + 8})`
      })
      await q.query(
        `INSERT INTO library_entries (file_id, position, path, rel, kind, size, mtime_ms, ino) VALUES ${values.join(', ')}`,
        params,
      )
    }
  },

  async entries(q: Queryable, fileId: string): Promise<LibraryEntryRow[]> {
    return q.query<LibraryEntryRow>(`SELECT * FROM library_entries WHERE file_id = $1 ORDER BY position`, [fileId])
  },

  async hasAccess(q: Queryable, userId: string): Promise<boolean> {
    const rows = await q.query<{ library_access: boolean }>(`SELECT library_access FROM users WHERE id = $1 AND disabled_at IS NULL`, [
      userId,
    ])
    return rows[0]?.library_access === true
  },

  async setAccess(q: Queryable, userId: string, allowed: boolean): Promise<{ email: string } | null> {
    const rows = await q.query<{ email: string }>(`UPDATE users SET library_access = $2 WHERE id = $1 RETURNING email`, [userId, allowed])
    return rows[0] ?? null
  },

  /** A share's source, for shares listed elsewhere (admin, My shares, notifications). */
  async source(q: Queryable, shareId: string): Promise<'upload' | 'library' | null> {
    const rows = await q.query<{ source: 'upload' | 'library' }>(`SELECT source FROM shares WHERE id = $1`, [shareId])
    return rows[0]?.source ?? null
  },
}
