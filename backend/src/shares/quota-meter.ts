import { Transform, type TransformCallback } from 'node:stream'
import { AppError } from '../http/app-error'

const BLOCK = 2 ** 20

/**
 * Charges bytes to a quota as they stream through, before they go on to storage: the upload stops
 * (with the quota's 413) at the first chunk that no longer fits, so at most the quota plus one chunk
 * was ever read. The quota is taken in blocks (fewer calls to a shared limiter) and, near the limit,
 * chunk by chunk; `reserved - bytes` was taken but not used, for the caller to give back.
 */
export class QuotaMeter extends Transform {
  bytes = 0
  reserved = 0

  constructor(private readonly charge: (bytes: number) => Promise<unknown>) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const missing = this.bytes + chunk.length - this.reserved
    if (missing <= 0) {
      this.bytes += chunk.length
      callback(null, chunk)
      return
    }
    this.reserve(missing).then(
      () => {
        this.bytes += chunk.length
        callback(null, chunk)
      },
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
    )
  }

  private async reserve(missing: number): Promise<void> {
    const block = Math.max(missing, BLOCK)
    try {
      await this.charge(block)
      this.reserved += block
    } catch (err) {
      // A whole block does not fit any more: take exactly what this chunk needs, or stop here.
      if (block === missing || !(err instanceof AppError) || err.code !== 'quota_exceeded') throw err
      await this.charge(missing)
      this.reserved += missing
    }
  }
}
