import { Transform, type TransformCallback } from 'node:stream'

export interface LeaseMeterOptions {
  /** bytes this response carries */
  bytes: number
  /** the response ends with the file's last byte (a whole file, or a range up to its end) */
  endsTheFile: boolean
  /** how often, while bytes flow, the lease is extended */
  keepAliveEveryMs: number
  /** extends the lease; throws when it lapsed (the response is then cut) */
  keepAlive(): Promise<void>
  /** records the file as sent; throws when that is refused (the last bytes are then never sent) */
  beforeLastBytes(): Promise<void>
  now?: () => number
}

/**
 * The bytes of a leased download on their way out. While they flow it extends the lease (a slow link
 * is never cut off; a stalled one lets it lapse, and is cut when it moves again). The chunk holding
 * the file's last byte is held back until the download has been recorded, so a file is never sent
 * whole without being counted, even when the database fails at that moment.
 */
export class LeaseMeter extends Transform {
  private left: number
  private lastKeepAlive: number
  private recorded = false
  private readonly now: () => number

  constructor(private readonly o: LeaseMeterOptions) {
    super()
    this.left = o.bytes
    this.now = o.now ?? Date.now
    this.lastKeepAlive = this.now()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.left -= chunk.length
    const keepAlive = this.now() - this.lastKeepAlive >= this.o.keepAliveEveryMs
    const last = this.left <= 0 && this.o.endsTheFile && !this.recorded
    if (!keepAlive && !last) return callback(null, chunk)
    if (keepAlive) this.lastKeepAlive = this.now()
    const work = async () => {
      if (keepAlive) await this.o.keepAlive()
      if (last) await this.record()
    }
    work().then(
      () => callback(null, chunk),
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
    )
  }

  override _flush(callback: TransformCallback): void {
    if (this.left > 0) return callback(new Error(`storage sent ${this.left} bytes less than expected`))
    // An empty file has no last chunk to hold back: it is recorded before the response ends.
    if (this.o.endsTheFile && !this.recorded) {
      this.record().then(
        () => callback(),
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
      )
      return
    }
    callback()
  }

  private async record(): Promise<void> {
    this.recorded = true
    await this.o.beforeLastBytes()
  }
}
