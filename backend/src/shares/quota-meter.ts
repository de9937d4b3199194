import { Transform, type TransformCallback } from 'node:stream'
import { AppError } from '../http/app-error'

const FIRST_BLOCK = 2 ** 20
const MAX_BLOCK = 16 * 2 ** 20

/**
 * Charges bytes to a quota as they stream through, before they go on to storage: the upload stops
 * (with the quota's 413) at the first chunk that no longer fits, so at most the quota plus one chunk
 * was ever read. The quota is taken in blocks ahead of the bytes, each twice the last (1 MiB up to
 * 16 MiB: a 1 GiB upload costs ~70 calls to the shared limiter, one database write each, instead of
 * 1024); near the limit the block halves until it fits, down to the chunk itself. A body of known
 * length (`declared`, e.g. a raw PUT's Content-Length) never takes more than it will send: a small
 * upload does not hold a block that would refuse other uploads of the same client meanwhile.
 * `reserved - bytes` was taken but not used, for the caller to give back.
 */
export class QuotaMeter extends Transform {
  bytes = 0
  reserved = 0
  /** The next block to ask for; it grows while blocks fit and shrinks once one does not. */
  private block = FIRST_BLOCK

  constructor(
    private readonly charge: (bytes: number) => Promise<unknown>,
    private readonly declared: number | null = null,
  ) {
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
    for (;;) {
      const rest = this.declared === null ? Infinity : this.declared - this.reserved
      const block = Math.max(missing, Math.min(this.block, rest))
      try {
        await this.charge(block)
        this.reserved += block
        this.block = Math.min(MAX_BLOCK, this.block * 2)
        return
      } catch (err) {
        // This block does not fit any more: ask for half, down to exactly what this chunk needs, or stop here.
        if (block === missing || !(err instanceof AppError) || err.code !== 'quota_exceeded') throw err
        this.block = Math.floor(this.block / 2)
      }
    }
  }
}
