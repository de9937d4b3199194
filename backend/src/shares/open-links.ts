import type { DownloadFile } from '../db/downloads.repo'

export interface OpenLinksOptions {
  /** how long a looked-up file is trusted */
  ttlMs: number
  /** at most this many files are remembered (the oldest go first) */
  maxEntries?: number
  now?: () => number
}

/**
 * The files of open links — unlimited shares without a password — as issuing their download last
 * read them, remembered for `ttlMs` (one second), so a popular link is read from the database once a
 * second instead of once per download. Only what the database said was downloadable is kept; a
 * file is never served from here past its share's expiry, and this instance forgets a share the
 * moment it is deleted, changed or its owner's access changes. Another instance's deletion reaches
 * this one within `ttlMs`: shorter than the signed URLs already handed out live (PRESIGN_TTL).
 */
export class OpenLinks {
  private readonly entries = new Map<string, { file: DownloadFile; until: number }>()
  /** reads running now, by key: every request that misses meanwhile waits for the same one */
  private readonly reads = new Map<string, { shareId: string; file: Promise<DownloadFile | null> }>()
  private readonly maxEntries: number
  private readonly now: () => number

  constructor(private readonly o: OpenLinksOptions) {
    this.maxEntries = o.maxEntries ?? 10_000
    this.now = o.now ?? Date.now
  }

  /** The remembered file, if it is fresh and its share stays live for at least one more second. */
  get(shareId: string, fileId: string | null): DownloadFile | null {
    const key = keyOf(shareId, fileId)
    const entry = this.entries.get(key)
    if (!entry) return null
    const now = this.now()
    if (entry.until <= now || entry.file.expires_at.getTime() <= now + 1000) {
      this.entries.delete(key)
      return null
    }
    return entry.file
  }

  /**
   * The file as `read` gives it, remembered when it is downloadable. Requests that miss while a read
   * runs share it: when a busy link's second is up, one query goes to the database instead of one per
   * request arriving before the answer (a burst that queued on the pool every second; the requests
   * behind it were the slowest). A read that fails is not kept for later requests.
   */
  read(shareId: string, fileId: string | null, read: () => Promise<DownloadFile | null>): Promise<DownloadFile | null> {
    const key = keyOf(shareId, fileId)
    const running = this.reads.get(key)
    if (running) return running.file
    const entry = { shareId, file: read() }
    this.reads.set(key, entry)
    const done = () => {
      // forgotten meanwhile (deleted, changed): its answer is not remembered
      const current = this.reads.get(key) === entry
      if (current) this.reads.delete(key)
      return current
    }
    entry.file.then(
      (file) => {
        if (done() && file) this.remember(shareId, fileId, file)
      },
      () => done(),
    )
    return entry.file
  }

  remember(shareId: string, fileId: string | null, file: DownloadFile): void {
    const key = keyOf(shareId, fileId)
    this.entries.delete(key)
    this.entries.set(key, { file, until: this.now() + this.o.ttlMs })
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
  }

  /** A share was deleted or changed: its files are read again. */
  forget(shareId: string): void {
    for (const [key, entry] of this.entries) if (entry.file.share_id === shareId) this.entries.delete(key)
    for (const [key, read] of this.reads) if (read.shareId === shareId) this.reads.delete(key)
  }

  /** Someone's access changed (a disabled owner's links stop): everything is read again. */
  clear(): void {
    this.entries.clear()
    this.reads.clear()
  }

  get size(): number {
    return this.entries.size
  }
}

const keyOf = (shareId: string, fileId: string | null) => `${shareId}/${fileId ?? ''}`
