import { createHash, type Hash } from 'node:crypto'
import { finished, Transform, type TransformCallback } from 'node:stream'
import { BlobTooLargeError } from './blob-store'

/**
 * Counts (and optionally hashes) bytes as they stream through; fails with BlobTooLargeError as soon
 * as more than `limit` bytes passed, so an oversized body is never stored whole.
 */
export class ByteMeter extends Transform {
  bytes = 0
  exceeded = false
  private readonly hash: Hash | null

  constructor(
    readonly limit: number = Number.POSITIVE_INFINITY,
    algorithm?: 'md5',
  ) {
    super()
    this.hash = algorithm ? createHash(algorithm) : null
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length
    if (this.bytes > this.limit) {
      this.exceeded = true
      return callback(new BlobTooLargeError(this.limit))
    }
    this.hash?.update(chunk)
    callback(null, chunk)
  }

  /** Hex digest of everything that passed (empty string without an algorithm). */
  digest(): string {
    return this.hash?.digest('hex') ?? ''
  }
}

/**
 * `from` failing fails `to` too, while `to` still has bytes to deliver: a stream that already ended
 * has nobody left to tell (and an 'error' nobody listens to would bring the process down). Closing
 * before its end is failing: a client's request destroyed mid-body (a 408 for a stalled upload, a
 * connection gone) emits no 'error', and `to`, fed by `from.pipe(to)`, would otherwise wait forever —
 * with the store's file open behind it.
 */
export function failWith(from: NodeJS.ReadableStream, to: { destroy(err?: Error): void; readonly destroyed: boolean; readonly readableEnded: boolean }): void {
  finished(from, { writable: false }, (err) => {
    if (err && !to.destroyed && !to.readableEnded) to.destroy(err)
  })
}
