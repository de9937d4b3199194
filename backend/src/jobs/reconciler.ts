import { jobsRepo } from '../db/jobs.repo'
import type { Deps } from '../deps'
import { storage } from '../shares/common'
import type { PendingUpload, StoredObject } from '../storage/blob-store'

export interface ReconcileRun {
  /** objects no row references, removed */
  objects: number
  /** multipart uploads no row references, aborted */
  uploads: number
  /** scratch files of dead writes, removed */
  scratch: number
  /** removals that failed (retried on the next run) */
  failures: number
}

const JOB = 'reconcile'
/** Keys looked up in the database at a time. */
const BATCH = 500

/**
 * Storage that no row references — what a process killed between storage and database leaves behind
 * (a curl upload's multipart upload, an object stored before its row, a temp file) — found by listing
 * the store and removed once it is older than ORPHAN_GRACE (younger ones may belong to a request that
 * is still running). Needs a store that can list (its `inventory` capability); one instance at a time
 * (a run is claimed in the database), every RECONCILE_INTERVAL.
 */
export class Reconciler {
  constructor(private readonly deps: Pick<Deps, 'db' | 'store' | 'logger' | 'config'>) {}

  /** Runs if no instance ran it within RECONCILE_INTERVAL; null when it was not this instance's turn. */
  async runIfDue(): Promise<ReconcileRun | null> {
    const { intervalSeconds } = this.timing
    // Held long enough for a big bucket; given back (as "next due") when the run ends.
    if (!(await jobsRepo.claimRun(this.deps.db, JOB, Math.max(600, intervalSeconds)))) return null
    const run = await this.runOnce()
    await jobsRepo.finishRun(this.deps.db, JOB, run, intervalSeconds)
    return run
  }

  /** One full comparison of storage with the database. */
  async runOnce(): Promise<ReconcileRun> {
    const run: ReconcileRun = { objects: 0, uploads: 0, scratch: 0, failures: 0 }
    const inventory = this.deps.store.inventory
    if (!inventory) return run
    const cutoff = Date.now() - this.timing.graceSeconds * 1000

    await this.inBatches(inventory.objects(), (o) => o.modifiedAt.getTime() < cutoff, async (batch: StoredObject[]) => {
      const referenced = await jobsRepo.referencedKeys(this.deps.db, batch.map((o) => o.key))
      for (const o of batch.filter((x) => !referenced.has(x.key))) {
        if (await this.attempt(() => this.deps.store.delete(o.key), { orphan: o.key })) run.objects++
        else run.failures++
      }
    })
    await this.inBatches(inventory.uploads(), (u) => u.startedAt.getTime() < cutoff, async (batch: PendingUpload[]) => {
      const referenced = await jobsRepo.referencedUploads(this.deps.db, batch)
      for (const u of batch.filter((x) => !referenced.has(x.uploadId))) {
        if (await this.attempt(() => this.deps.store.abortMultipart(u.key, u.uploadId), { orphanUpload: u.uploadId })) run.uploads++
        else run.failures++
      }
    })
    run.scratch = await storage(() => inventory.sweepScratch(this.timing.graceSeconds * 1000))
    if (run.objects || run.uploads || run.scratch || run.failures) this.deps.logger.info(run, 'reconciler removed orphaned storage')
    return run
  }

  private get timing() {
    return { intervalSeconds: this.deps.config.janitor.reconcileIntervalSeconds, graceSeconds: this.deps.config.janitor.orphanGraceSeconds }
  }

  /** Feeds the old-enough items of a listing to `work` in batches (the listing itself is streamed). */
  private async inBatches<T>(items: AsyncIterable<T>, oldEnough: (item: T) => boolean, work: (batch: T[]) => Promise<void>): Promise<void> {
    let batch: T[] = []
    for await (const item of items) {
      if (!oldEnough(item)) continue
      batch.push(item)
      if (batch.length >= BATCH) {
        await work(batch)
        batch = []
      }
    }
    if (batch.length > 0) await work(batch)
  }

  /** One removal; a failure is logged and counted, never fatal to the run. */
  private async attempt(remove: () => Promise<void>, what: Record<string, string>): Promise<boolean> {
    try {
      await storage(remove)
      return true
    } catch (err) {
      this.deps.logger.warn({ err, ...what }, 'reconciler could not remove orphaned storage')
      return false
    }
  }
}
