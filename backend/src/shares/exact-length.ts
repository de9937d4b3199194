import { Transform, type TransformCallback } from 'node:stream'

/**
 * The bytes of a file on their way out, checked against the length the response announced.
 *
 * A blob that storage serves shorter or longer than the file's recorded size (cut short, replaced)
 * fails the stream, so the response is cut instead of ending as if it were whole: with a
 * `Content-Length` announced, an early end would leave the client waiting for bytes that never come,
 * and extra bytes would spill into the next response on the connection.
 */
export class ExactLength extends Transform {
  private left: number

  constructor(bytes: number) {
    super()
    this.left = bytes
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.left -= chunk.length
    if (this.left < 0) return callback(new Error(`storage sent ${-this.left} bytes more than expected`))
    callback(null, chunk)
  }

  override _flush(callback: TransformCallback): void {
    if (this.left > 0) return callback(new Error(`storage sent ${this.left} bytes less than expected`))
    callback()
  }
}
