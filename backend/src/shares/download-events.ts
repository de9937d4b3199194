import type { Logger } from 'pino'
import type { Db } from '../db/db'
import { downloadsRepo, type NewDownloadEvent } from '../db/downloads.repo'

export interface DownloadEventsOptions {
  /** how long an event waits in memory before it is written */
  flushMs: number
  /** this many waiting events are written at once, without waiting for the timer (one statement each) */
  batchSize?: number
  /** while the database refuses them, at most this many wait; older ones are dropped, with an error logged */
  maxPending?: number
}

/**
 * The download events of unlimited shares, written in batches: one multi-row INSERT every `flushMs`
 * (or every `batchSize` events), and whatever is left on shutdown, instead of one write per issued
 * URL. A popular link then costs the database one read per download.
 *
 * What this trades: an instance that dies without shutting down loses the events of its last
 * `flushMs`, i.e. some download *counts* of unlimited shares (history and statistics). Limits never
 * depend on it: downloads of limited shares are counted in their own transaction, under their lease.
 * Readers on this instance call `flush()` first, so they see their own downloads; other instances
 * see them at most `flushMs` later.
 */
export class DownloadEvents {
  private pending: NewDownloadEvent[] = []
  private timer: NodeJS.Timeout | null = null
  /** writes happen one after the other, in the order they were asked for */
  private chain: Promise<void> = Promise.resolve()
  private readonly batchSize: number
  private readonly maxPending: number

  constructor(
    private readonly deps: { db: Pick<Db, 'query'>; logger: Logger },
    private readonly o: DownloadEventsOptions,
  ) {
    this.batchSize = o.batchSize ?? 1000
    this.maxPending = o.maxPending ?? 100_000
  }

  /** Counts one download (the event's time is now); written within `flushMs`. */
  record(event: Omit<NewDownloadEvent, 'at'>): void {
    this.pending.push({ ...event, at: new Date() })
    if (this.pending.length >= this.batchSize) void this.flush()
    else this.schedule(this.o.flushMs)
  }

  /** How many events wait to be written. */
  get waiting(): number {
    return this.pending.length
  }

  /**
   * Writes every event recorded so far. Resolves once they are stored, or once the attempt failed
   * (logged; the events stay queued and are tried again on the next tick): never rejects, so a
   * reader that flushes first is not failed by it.
   */
  flush(): Promise<void> {
    this.clearTimer()
    this.chain = this.chain.then(() => this.write())
    return this.chain
  }

  /** Shutdown: stops the timer and writes what is left. */
  async stop(): Promise<void> {
    await this.flush()
    this.clearTimer()
  }

  private async write(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.batchSize)
      try {
        await downloadsRepo.appendEvents(this.deps.db, batch)
      } catch (err) {
        this.pending.unshift(...batch)
        const dropped = this.pending.length - this.maxPending
        if (dropped > 0) {
          this.pending.splice(0, dropped)
          this.deps.logger.error({ dropped }, 'download events: the database refused them for too long, the oldest counts are lost')
        }
        this.deps.logger.warn({ err, waiting: this.pending.length }, 'download events: could not write them, trying again')
        this.schedule(this.o.flushMs)
        return
      }
    }
  }

  private schedule(ms: number): void {
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = null
      void this.flush()
    }, ms)
    this.timer.unref()
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }
}
