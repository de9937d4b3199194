import { sharesRepo } from '../db/shares.repo'
import type { Deps } from '../deps'
import { EXHAUSTED_GRACE_SECONDS, ShareDeletion } from '../shares/deletion.service'

export interface JanitorRun {
  /** ids of the shares this run deleted (each exactly once across all instances) */
  deleted: string[]
}

/**
 * Deletes expired and exhausted shares with their blobs, and abandoned uploads (aborting their
 * multipart uploads). Safe on many instances at once: each batch is taken with
 * FOR UPDATE SKIP LOCKED, so two janitors never take the same share.
 */
export class Janitor {
  private timer: NodeJS.Timeout | null = null
  private running: Promise<JanitorRun> | null = null
  constructor(
    private readonly deps: Deps,
    private readonly batchSize = 50,
    private readonly deletion = new ShareDeletion(deps),
  ) {}

  start(): void {
    const every = this.deps.config.janitor.intervalSeconds * 1000
    // Jitter so that instances started together do not run in lockstep.
    const schedule = (delay: number) => {
      this.timer = setTimeout(() => {
        this.runOnce()
          .catch((err: unknown) => this.deps.logger.warn({ err }, 'janitor run failed'))
          .finally(() => {
            if (this.timer) schedule(every * (0.9 + Math.random() * 0.2))
          })
      }, delay)
      this.timer.unref()
    }
    schedule(Math.min(every, 10_000) * (0.5 + Math.random()))
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  /** One full pass: batches until nothing is left to delete. */
  runOnce(): Promise<JanitorRun> {
    this.running ??= this.pass().finally(() => (this.running = null))
    return this.running
  }

  private async pass(): Promise<JanitorRun> {
    const deleted: string[] = []
    for (;;) {
      const batch = await this.deps.db.tx(async (q) => {
        const shares = await sharesRepo.lockExpired(q, {
          limit: this.batchSize,
          exhaustedGraceSeconds: EXHAUSTED_GRACE_SECONDS,
          staleSeconds: this.deps.config.janitor.staleUploadAge,
        })
        await this.deletion.removeBlobs(q, shares)
        await sharesRepo.markDeleted(q, shares.map((s) => s.id))
        return shares.map((s) => s.id)
      })
      deleted.push(...batch)
      if (batch.length < this.batchSize) break
    }
    if (deleted.length) this.deps.logger.info({ deleted: deleted.length }, 'janitor deleted shares')
    for (const shareId of deleted) this.deps.events.emit('shareDeleted', { shareId, by: 'janitor' })
    this.deps.events.emit('janitorRun', { deleted: deleted.length })
    return { deleted }
  }
}
