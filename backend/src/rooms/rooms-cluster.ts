import type { Logger } from 'pino'
import type { MemberRecord, RoomRecord, RoomStore } from './room-store'

/** A seat this instance holds (a live socket's, or one held for a reconnecting member). */
export interface LocalSeat {
  room: RoomRecord
  member: MemberRecord
}

export interface ClusterOptions {
  store: RoomStore
  instance: string
  /** heartbeat period; an instance silent for three periods is declared dead */
  intervalMs: number
  codeTtlMs: number
  localSeats: () => LocalSeat[]
  /** a seat put back after the store lost it: tell the room (its members may have dropped it) */
  restored: (seat: LocalSeat) => void
  /** a dead instance's member was removed */
  reaped: (roomId: string, peerId: string, remaining: number) => Promise<void>
  /** ask the other instances to check their seats now (they answer once done, or time out) */
  askOthers?: () => Promise<void>
  logger: Logger
}

/**
 * Keeps the rooms in Redis true to the live sockets, on every instance:
 * - a heartbeat per instance; the seats of an instance silent for three periods are freed (peer:left);
 * - when Redis lost its data (the epoch changed) or forgot this instance (declared dead while it was
 *   frozen), this instance puts back the seats of its sockets: rooms go on as they were.
 * With the memory store (one instance) there is nothing to do.
 */
export class RoomsCluster {
  private epoch: string | null = null
  private timer: ReturnType<typeof setInterval> | null = null
  private beating: Promise<boolean> | null = null
  private restoredAt = 0

  constructor(private readonly opts: ClusterOptions) {}

  start(): void {
    if (this.opts.store.kind !== 'redis' || this.timer) return
    void this.beat()
    this.timer = setInterval(() => void this.beat(), this.opts.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  /** One heartbeat (coalesced): restores lost seats, reaps dead instances. True when seats were restored. */
  beat(): Promise<boolean> {
    if (this.opts.store.kind !== 'redis') return Promise.resolve(false)
    this.beating ??= this.run().finally(() => (this.beating = null))
    return this.beating
  }

  /**
   * Something this instance's sockets are in was not found: if Redis lost its data, restore this
   * instance's seats and ask the others to do the same before answering. True when Redis lost its
   * data lately: what is still missing may be a seat another instance has not put back yet.
   */
  async recoverIfLost(): Promise<boolean> {
    if (await this.beat()) await this.opts.askOthers?.().catch(() => undefined)
    return this.restoring()
  }

  /** Within three heartbeats of a restore: the other instances may still be putting seats back. */
  restoring(): boolean {
    return Date.now() - this.restoredAt < 3 * this.opts.intervalMs
  }

  private async run(): Promise<boolean> {
    const { store, instance, logger } = this.opts
    try {
      const now = Date.now()
      const { known, epoch } = await store.heartbeat(instance, now)
      const lost = this.epoch !== null && (epoch !== this.epoch || !known)
      this.epoch = epoch
      if (lost) {
        this.restoredAt = Date.now()
        await this.restore()
      }
      await this.reapDead(now)
      return lost
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'rooms: heartbeat failed')
      return false
    }
  }

  private async restore() {
    const seats = this.opts.localSeats()
    this.opts.logger.warn({ seats: seats.length }, 'rooms: Redis lost this instance\'s rooms; registering them again from the live sockets')
    for (const seat of seats) {
      if (await this.opts.store.restore(seat.room, seat.member, this.opts.codeTtlMs)) this.opts.restored(seat)
    }
  }

  private async reapDead(now: number) {
    const { store, instance } = this.opts
    const dead = (await store.deadInstances(now - 3 * this.opts.intervalMs)).filter((i) => i !== instance)
    for (const gone of dead) {
      const reaped = await store.reap(gone)
      if (reaped.length > 0) this.opts.logger.warn({ instance: gone, seats: reaped.length }, 'rooms: an instance stopped beating; its devices are announced gone')
      for (const r of reaped) await this.opts.reaped(r.roomId, r.peerId, r.remaining)
    }
  }
}
