import type { RequestHandler } from 'express'
import { AppError } from '../http/app-error'

/**
 * How many curl uploads this instance streams at once. Each one holds buffers (on S3, the part being
 * filled and the part in flight), so without a cap memory grows with every concurrent upload. An
 * upload over the cap waits, without its body being read, for a turn; after `waitMs` (or when the
 * queue is full) it is refused with 429 server_busy and Retry-After.
 */
export class StreamSlots {
  private active = 0
  private readonly queue: (() => void)[] = []

  constructor(
    readonly capacity: number,
    private readonly waitMs: number,
    private readonly maxQueue = capacity * 8,
  ) {}

  get streaming(): number {
    return this.active
  }

  get waiting(): number {
    return this.queue.length
  }

  /** Resolves with the release function once a slot is this caller's; `signal` gives up waiting. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.active < this.capacity) {
      this.active++
      return this.releaser()
    }
    if (this.queue.length >= this.maxQueue) throw this.busy()
    await new Promise<void>((resolve, reject) => {
      const turn = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', leave)
        resolve()
      }
      const leave = () => {
        clearTimeout(timer)
        const i = this.queue.indexOf(turn)
        if (i >= 0) this.queue.splice(i, 1)
        reject(this.busy())
      }
      const timer = setTimeout(leave, this.waitMs)
      signal?.addEventListener('abort', leave, { once: true })
      this.queue.push(turn)
    })
    // The slot was handed over by its previous holder: `active` already counts it.
    return this.releaser()
  }

  /** Express middleware: the request streams only while it holds a slot, released when its response closes. */
  readonly gate: RequestHandler = (req, res, next) => {
    const gone = new AbortController()
    const onClose = () => gone.abort()
    res.once('close', onClose)
    this.acquire(gone.signal).then(
      (release) => {
        res.off('close', onClose)
        if (res.closed) {
          release()
          return
        }
        res.once('close', release)
        next()
      },
      (err: unknown) => {
        res.off('close', onClose)
        next(err)
      },
    )
  }

  private releaser(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.queue.shift()
      if (next) next()
      else this.active--
    }
  }

  private busy(): AppError {
    return new AppError('server_busy', 'This server is receiving as many uploads as it can right now. Please try again in a few seconds.', {
      retryAfter: Math.max(1, Math.ceil(this.waitMs / 1000 / 4)),
    })
  }
}
