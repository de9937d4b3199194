import pLimit from 'p-limit'
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
  /** completed files of ready shares whose object was looked up in the store this run */
  checked: number
  /**
   * Of those, files whose object is gone or has the wrong size (at most LOST_LISTED of them named).
   * Reported (an error in the log, and here), never deleted: a store mounted or configured wrongly
   * would otherwise erase every link; the download of such a file answers 404 and counts nothing.
   */
  lost: { shareId: string; fileId: string; key: string }[]
  /** storage calls that failed (removals retried on the next run, look-ups too) */
  failures: number
  /** where the next run resumes checking files ('' once every file was checked) */
  cursor: string
}

export interface ReconcilerOptions {
  /** files whose object is looked up per run (the next run goes on from there) */
  checksPerRun: number
}

const JOB = 'reconcile'
/** Keys looked up in the database at a time. */
const BATCH = 500
/** Lost files named in a run's result (all are counted in the log). */
const LOST_LISTED = 100
/** Object look-ups in flight at once. */
const CONCURRENT_CHECKS = 8

/**
 * Storage that no row references — what a process killed between storage and database leaves behind
 * (a curl upload's multipart upload, an object stored before its row, a temp file) — found by listing
 * the store and removed once it is older than ORPHAN_GRACE (younger ones may belong to a request that
 * is still running). Needs a store that can list (its `inventory` capability); one instance at a time
 * (a run is claimed in the database), every RECONCILE_INTERVAL.
 *
 * The other way round, it checks that the files of ready shares still have their object, a bounded
 * number per run (`checksPerRun`, resumed where the previous run stopped), and reports those that
 * do not (see `ReconcileRun.lost`).
 */
export class Reconciler {
  constructor(
    private readonly deps: Pick<Deps, 'db' | 'store' | 'logger' | 'config'>,
    private readonly options: ReconcilerOptions = { checksPerRun: 5000 },
  ) {}

  /** Runs if no instance ran it within RECONCILE_INTERVAL; null when it was not this instance's turn. */
  async runIfDue(): Promise<ReconcileRun | null> {
    const { intervalSeconds } = this.timing
    // Held long enough for a big bucket; given back (as "next due") when the run ends.
    const claimed = await jobsRepo.claimRun(this.deps.db, JOB, Math.max(600, intervalSeconds))
    if (!claimed) return null
    const run = await this.runOnce(cursorOf(claimed.lastResult))
    await jobsRepo.finishRun(this.deps.db, JOB, run, intervalSeconds)
    return run
  }

  /** One comparison of storage with the database; `cursor`: where the previous run stopped checking files. */
  async runOnce(cursor = ''): Promise<ReconcileRun> {
    const run: ReconcileRun = { objects: 0, uploads: 0, scratch: 0, checked: 0, lost: [], failures: 0, cursor: '' }
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
    await this.checkFiles(run, cursor)
    return run
  }

  /** Looks up the objects of up to `checksPerRun` completed files, from `cursor` on. */
  private async checkFiles(run: ReconcileRun, cursor: string): Promise<void> {
    const limit = pLimit(CONCURRENT_CHECKS)
    let lost = 0
    let after = cursor
    while (run.checked < this.options.checksPerRun) {
      const wanted = Math.min(BATCH, this.options.checksPerRun - run.checked)
      const files = await jobsRepo.completedFiles(this.deps.db, { afterId: after, limit: wanted, graceSeconds: this.timing.graceSeconds })
      const missing: { file: (typeof files)[number]; storedSize: number | null }[] = []
      await Promise.all(
        files.map((file) =>
          limit(async () => {
            try {
              const found = await storage(() => this.deps.store.head(file.storage_key))
              if (found === null || found.size !== file.size) missing.push({ file, storedSize: found?.size ?? null })
            } catch (err) {
              run.failures++
              this.deps.logger.warn({ err, key: file.storage_key }, 'reconciler could not look up an object')
            }
          }),
        ),
      )
      // A share deleted since the listing lost its objects on purpose.
      const ready = await jobsRepo.readyShares(this.deps.db, missing.map((m) => m.file.share_id))
      for (const { file, storedSize } of missing.filter((m) => ready.has(m.file.share_id))) {
        lost++
        if (run.lost.length < LOST_LISTED) run.lost.push({ shareId: file.share_id, fileId: file.id, key: file.storage_key })
        this.deps.logger.error({ fileId: file.id, key: file.storage_key, storedSize, size: file.size }, 'a ready share lost a file in storage')
      }
      run.checked += files.length
      // the last file was checked: the next run starts over from the first
      if (files.length < wanted) break
      after = files[files.length - 1]!.id
      run.cursor = after
    }
    if (lost > 0) this.deps.logger.error({ lost }, 'reconciler found files of ready shares missing from storage')
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

/** The cursor a previous run recorded in its result (job_runs.last_result). */
function cursorOf(lastResult: unknown): string {
  if (typeof lastResult !== 'object' || lastResult === null || !('cursor' in lastResult)) return ''
  return typeof lastResult.cursor === 'string' ? lastResult.cursor : ''
}
