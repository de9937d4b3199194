import { Transform, type TransformCallback } from 'node:stream'

export interface LeaseMeterOptions {
  /** bytes this response carries */
  bytes: number
  /** the response ends with the file's last byte (a whole file, or a range up to its end) */
  endsTheFile: boolean
  /** how often, while the response is open, the lease is extended */
  keepAliveEveryMs: number
  /** extends the lease; throws when it lapsed or the share went (the response is then cut) */
  keepAlive(): Promise<void>
  /** records the file as sent; throws when that is refused (the last bytes are then never sent) */
  beforeLastBytes(): Promise<void>
}

/**
 * The bytes of a leased download on their way out.
 *
 * While the response is open the lease is extended every `keepAliveEveryMs`, so a slow link is never
 * cut off. (How fast the client really reads is only visible to the server with the lag of the
 * sockets' buffers, often megabytes, so the lease follows the connection; a client that stops
 * reading altogether is closed by the download monitor's stall timeout.) Once the connection is gone
 * the lease lapses after its TTL. An extension that is refused — the lease lapsed, the share was
 * deleted — cuts the response.
 *
 * The chunk holding the file's last byte is held back until the download has been recorded, so a
 * file is never sent whole without being counted, even when the database fails at that moment.
 */
export class LeaseMeter extends Transform {
  private left: number
  private recorded = false
  private timer: NodeJS.Timeout | null
  private extending = false

  constructor(private readonly o: LeaseMeterOptions) {
    super()
    this.left = o.bytes
    this.timer = setInterval(() => void this.extend(), o.keepAliveEveryMs)
    this.timer.unref()
    this.once('close', () => this.stop())
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.left -= chunk.length
    if (this.left > 0 || !this.o.endsTheFile || this.recorded) return callback(null, chunk)
    this.record().then(
      () => callback(null, chunk),
      (err: unknown) => callback(asError(err)),
    )
  }

  override _flush(callback: TransformCallback): void {
    if (this.left > 0) return callback(new Error(`storage sent ${this.left} bytes less than expected`))
    // An empty file has no last chunk to hold back: it is recorded before the response ends.
    if (this.o.endsTheFile && !this.recorded) {
      this.record().then(
        () => callback(),
        (err: unknown) => callback(asError(err)),
      )
      return
    }
    callback()
  }

  private async extend(): Promise<void> {
    if (this.extending || this.destroyed) return
    this.extending = true
    try {
      await this.o.keepAlive()
    } catch (err) {
      this.stop()
      this.destroy(asError(err))
    } finally {
      this.extending = false
    }
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  private async record(): Promise<void> {
    this.recorded = true
    await this.o.beforeLastBytes()
  }
}

const asError = (err: unknown) => (err instanceof Error ? err : new Error(String(err)))
