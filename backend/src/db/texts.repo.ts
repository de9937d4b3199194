import type { Db } from './db'
import { HAS_DOWNLOADS_LEFT, LIVE } from './shares.repo'

export interface RevealedText {
  /** plain text, or the sealed envelope of an encrypted share's text */
  text: string | null
  encrypted: boolean
  note: string | null
  metadata: string | null
  /** after this view */
  downloads: number
  max_downloads: number | null
}

/** Text-only shares (008_sharing.sql): their text is revealed and counted in one transaction. */
export const textsRepo = {
  /**
   * Reads the text of a live text share and counts the view (an event; on limited shares the counter
   * too, and on the last allowed view the text, note and envelope are wiped). The share row is locked
   * for this short transaction, so two readers of a one-time text can never both see it. Null: not
   * live (any more).
   */
  async reveal(db: Db, shareId: string, userId: string | null): Promise<RevealedText | null> {
    return db.tx(async (q) => {
      const [share] = await q.query<RevealedText & { id: string }>(
        `SELECT s.id, s.text, s.encrypted, s.note, s.metadata, s.downloads, s.max_downloads FROM shares s
         WHERE s.id = $1 AND s.kind = 'text' AND ${LIVE} AND ${HAS_DOWNLOADS_LEFT}
         FOR UPDATE OF s`,
        [shareId],
      )
      if (!share) return null
      const bytes = Buffer.byteLength(share.text ?? '')
      await q.query(`INSERT INTO download_events (share_id, file_id, bytes, user_id) VALUES ($1, NULL, $2, $3)`, [shareId, bytes, userId])
      if (share.max_downloads === null) return share
      const last = share.downloads + 1 >= share.max_downloads
      await q.query(
        `UPDATE shares SET downloads = downloads + 1, last_download_at = now()${last ? ', text = NULL, note = NULL, metadata = NULL' : ''} WHERE id = $1`,
        [shareId],
      )
      return { ...share, downloads: share.downloads + 1 }
    })
  },
}
