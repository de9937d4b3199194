import { downloadsRepo } from '../db/downloads.repo'
import { sharesRepo } from '../db/shares.repo'
import type { Deps } from '../deps'
import { Reconciler } from './reconciler'
import { DELETE_WORK_SECONDS, EXHAUSTED_GRACE_SECONDS, ShareDeletion } from '../shares/deletion.service'

export interface JanitorRun {
  /** ids of the shares this run deleted (each exactly once across all instances) */
  deleted: string[]
  /** ids of the shares whose blobs could not be removed this time (retried after a back-off) */
  failed: string[]
}

/** Download leases are kept a day after they ended (for support questions), then dropped. */
const ENDED_LEASE_SECONDS = 86_400

/**
 * Deletes expired and exhausted shares with their blobs, and abandoned uploads (aborting their
 * multipart uploads); finishes deletes whose blobs could not be removed before. Safe on many
 * instances at once: each batch is claimed with FOR UPDATE SKIP LOCKED, so two janitors never take
 * the same share, and blobs are removed outside any transaction.
 */
export class Janitor {
  private timer: NodeJS.Timeout | null = null
  private running: Promise<JanitorRun> | null = null
  constructor(
    private readonly deps: Deps,
    private readonly batchSize = 50,
    private readonly deletion = new ShareDeletion(deps),
    private readonly reconciler = new Reconciler(deps),
  ) {}

  start(): void {
    const every = this.deps.config.janitor.intervalSeconds * 1000
    // Jitter so that instances started together do not run in lockstep.
    const schedule = (delay: number) => {
      this.timer = setTimeout(() => {
        this.runOnce()
          .catch((err: unknown) => this.deps.logger.warn({ err }, 'janitor run failed'))
          // Storage nothing references (after ORPHAN_GRACE): one instance per RECONCILE_INTERVAL.
          .then(() => this.reconciler.runIfDue())
          .catch((err: unknown) => this.deps.logger.warn({ err }, 'reconciler run failed'))
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
    const failed: string[] = []
    for (;;) {
      // Claim (one statement), then work with no transaction open. A share that failed is backed off,
      // so it is not claimed again in this pass: the loop ends.
      const batch = await sharesRepo.claimForJanitor(this.deps.db, {
        limit: this.batchSize,
        exhaustedGraceSeconds: EXHAUSTED_GRACE_SECONDS,
        staleSeconds: this.deps.config.janitor.staleUploadAge,
        workSeconds: DELETE_WORK_SECONDS,
      })
      for (const share of batch) if (share.fresh) this.deps.events.emit('shareDeleted', { shareId: share.id, by: 'janitor' })
      const work = await this.deletion.finish(batch.map((s) => s.id))
      deleted.push(...work.deleted)
      failed.push(...work.failed)
      if (batch.length < this.batchSize) break
    }
    await downloadsRepo.deleteEndedLeases(this.deps.db, ENDED_LEASE_SECONDS)
    if (deleted.length || failed.length) this.deps.logger.info({ deleted: deleted.length, failed: failed.length }, 'janitor deleted shares')
    this.deps.events.emit('janitorRun', { deleted: deleted.length })
    return { deleted, failed }
  }
}
