import { CHUNK_SIZE, HEADER_SIZE, TAG_SIZE, fileHeader, parseHeader, partLayout, recordNonce } from './format'
import type { FileKey } from './keys'
import { AuthenticationError, type Bytes } from './primitives'

/**
 * Encryption of one multipart part at a time, and streaming decryption of a whole file. A part holds
 * whole records, so parts can be encrypted in any order, in parallel, and again after a reload: the
 * same key, plaintext and record index always give the same bytes.
 */

/** Why a file did not decrypt. The message is for people; `kind` is for code. */
export type DecryptFailure =
  /** A record's tag did not verify: the bytes were changed (or, for record 0, the key is wrong). */
  | 'tampered'
  /** The file ends before its last record (cut short in storage or on the way). */
  | 'truncated'
  /** There are bytes after the last record, or more bytes than announced. */
  | 'too_long'
  /** This is not an encrypted file of this format. */
  | 'not_encrypted'
  /** A newer format version than this code reads. */
  | 'unsupported_version'
  /** The header names another file of the share (the server served the wrong blob). */
  | 'wrong_file'

const MESSAGES: Record<DecryptFailure, string> = {
  tampered: 'The file was changed after it was encrypted (or the key is wrong): it cannot be trusted.',
  truncated: 'The file is incomplete: it ends before its last part.',
  too_long: 'The file has more data than was encrypted: it cannot be trusted.',
  not_encrypted: 'This is not an end-to-end encrypted file.',
  unsupported_version: 'This file was encrypted by a newer version of ShareSync.',
  wrong_file: 'The server sent a different file than the one asked for.',
}

export class DecryptError extends Error {
  constructor(
    readonly kind: DecryptFailure,
    /** The record at which it was found. */
    readonly record: number,
  ) {
    super(MESSAGES[kind])
    this.name = 'DecryptError'
  }
}

/** Records encrypted or decrypted at once: WebCrypto runs them concurrently off the main thread. */
const PARALLEL = 32
/** Middle records gathered before they are opened (2 MiB): fewer, larger rounds. */
const BATCH = 32
/** Batches decrypting at the same time. */
const MAX_BATCHES = 3

/** Runs `work` for 0..count-1 with at most `limit` at a time, results in order. */
async function inOrder<T>(count: number, limit: number, work: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(count)
  let next = 0
  const lane = async () => {
    while (next < count) {
      const i = next++
      out[i] = await work(i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, count) }, lane))
  return out
}

/**
 * Encrypts part `partNumber` of a file of `plainSize` bytes. `read(start, end)` gives plaintext bytes
 * [start, end) of the file. `partSize` is the server's part size in encrypted bytes (a multiple of
 * CHUNK_SIZE); the result is exactly the part's encrypted bytes.
 */
export async function sealPart(
  key: FileKey,
  plainSize: number,
  partSize: number,
  partNumber: number,
  read: (start: number, end: number) => Promise<Uint8Array>,
): Promise<Bytes> {
  return join(await sealPartPieces(key, plainSize, partSize, partNumber, read))
}

/**
 * The same bytes as `sealPart`, as the pieces they are made of (the header, then one array per
 * record), in order: a browser can wrap them in a Blob without copying them into one array first.
 */
export async function sealPartPieces(
  key: FileKey,
  plainSize: number,
  partSize: number,
  partNumber: number,
  read: (start: number, end: number) => Promise<Uint8Array>,
): Promise<Bytes[]> {
  const layout = partLayout(plainSize, partSize, partNumber)
  const plain = await read(layout.plainStart, layout.plainEnd)
  if (plain.byteLength !== layout.plainEnd - layout.plainStart) throw new Error('the file changed while it was read')
  const pieces = await sealRecordPieces(key, plainSize, layout.firstRecord, plain)
  if (pieces.reduce((n, p) => n + p.byteLength, 0) !== layout.size) throw new RangeError('the part does not match its layout')
  return pieces
}

/** Encrypts the records from `firstRecord` on that `plain` holds; the file is `plainSize` bytes. */
export async function sealRecords(key: FileKey, plainSize: number, firstRecord: number, plain: Uint8Array): Promise<Bytes> {
  return join(await sealRecordPieces(key, plainSize, firstRecord, plain))
}

async function sealRecordPieces(key: FileKey, plainSize: number, firstRecord: number, plain: Uint8Array): Promise<Bytes[]> {
  const header = fileHeader(key.index)
  const last = lastRecord(plainSize)
  const ranges: { record: number; from: number; to: number }[] = []
  let from = 0
  for (let record = firstRecord; ; record++) {
    const room = record === 0 ? CHUNK_SIZE - HEADER_SIZE - TAG_SIZE : CHUNK_SIZE - TAG_SIZE
    const to = Math.min(plain.byteLength, from + room)
    if (record !== last && to - from !== room) throw new RangeError('records other than the last must be full')
    ranges.push({ record, from, to })
    from = to
    if (from >= plain.byteLength || record === last) break
  }
  if (from !== plain.byteLength) throw new RangeError('more plaintext than the file has')
  const sealed = await inOrder(ranges.length, PARALLEL, (i) => {
    const r = ranges[i]!
    return key.aead.seal(recordNonce(key.index, r.record, r.record === last), header, plain.subarray(r.from, r.to))
  })
  return firstRecord === 0 ? [header, ...sealed] : sealed
}

function join(pieces: Bytes[]): Bytes {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of pieces) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

/** The index of the last record of a file of `plainSize` bytes. */
function lastRecord(plainSize: number): number {
  if (plainSize <= CHUNK_SIZE - HEADER_SIZE - TAG_SIZE) return 0
  return Math.ceil((plainSize - (CHUNK_SIZE - HEADER_SIZE - TAG_SIZE)) / (CHUNK_SIZE - TAG_SIZE))
}

/** Bytes gathered from a stream, taken off the front a chunk at a time. */
class ByteQueue {
  private pieces: Uint8Array[] = []
  private head = 0
  length = 0

  push(b: Uint8Array) {
    if (b.byteLength === 0) return
    this.pieces.push(b)
    this.length += b.byteLength
  }

  /** The first `n` bytes (n <= length), without taking them. */
  peek(n: number): Uint8Array {
    const first = this.pieces[0]!
    if (first.byteLength - this.head >= n) return first.subarray(this.head, this.head + n)
    return this.copy(n, false)
  }

  take(n: number): Uint8Array {
    const first = this.pieces[0]!
    if (first.byteLength - this.head < n) return this.copy(n, true)
    const view = first.subarray(this.head, this.head + n)
    this.head += n
    if (this.head === first.byteLength) {
      this.pieces.shift()
      this.head = 0
    }
    this.length -= n
    return view
  }

  private copy(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n)
    let filled = 0
    let piece = 0
    let head = this.head
    while (filled < n) {
      const p = this.pieces[piece]!
      const k = Math.min(n - filled, p.byteLength - head)
      out.set(p.subarray(head, head + k), filled)
      filled += k
      head += k
      if (head === p.byteLength) {
        piece++
        head = 0
      }
    }
    if (consume) {
      this.pieces.splice(0, piece)
      this.head = head
      this.length -= n
    }
    return out
  }
}

/**
 * A stream that turns an encrypted file into its plaintext, verifying every record before it lets its
 * bytes through. The last record is only known when the input ends, so one chunk is always held back;
 * a stream that ends early, has extra bytes, was reordered or altered fails with a DecryptError, and
 * no byte of an unverified record is ever emitted. `expectedSize` (encrypted bytes, optional) makes an
 * input that goes past it fail at once, and one that ends before it fail as truncated. `firstRecord`
 * decrypts a stream that starts at that record's chunk (a download resumed with Range from
 * `firstRecord * CHUNK_SIZE`); `expectedSize` then counts the bytes from there.
 */
export function decryptStream(key: FileKey, opts: { expectedSize?: number; firstRecord?: number } = {}): TransformStream<Uint8Array, Bytes> {
  const header = fileHeader(key.index)
  const queue = new ByteQueue()
  const firstRecord = opts.firstRecord ?? 0
  if (!Number.isSafeInteger(firstRecord) || firstRecord < 0) throw new RangeError('firstRecord must be a record index')
  let record = firstRecord
  let received = 0
  // Resuming at a later record: the header is not in the stream (every record still authenticates
  // against it, and against its own index, so a shifted or foreign record fails as tampered).
  let headerChecked = firstRecord > 0

  const open = async (r: number, chunk: Uint8Array, last: boolean): Promise<Bytes> => {
    const body = r === 0 ? chunk.subarray(HEADER_SIZE) : chunk
    if (body.byteLength < TAG_SIZE) throw new DecryptError('truncated', r)
    try {
      return await key.aead.open(recordNonce(key.index, r, last), header, body)
    } catch (err) {
      if (!(err instanceof AuthenticationError)) throw err
      // A "last" record that verifies as a middle one: the real end was cut off.
      if (last && chunk.byteLength === CHUNK_SIZE) {
        const middle = await key.aead.open(recordNonce(key.index, r, false), header, body).then(
          () => true,
          () => false,
        )
        if (middle) throw new DecryptError('truncated', r + 1)
      }
      throw new DecryptError('tampered', r)
    }
  }

  // Batches being decrypted, oldest first. Each starts at once (the records of several batches are
  // in flight together) but hands its plaintext on only after every batch before it did, and only
  // once all of its own records verified.
  let delivered: Promise<void> = Promise.resolve()
  let inFlight = 0
  const openMiddle = (controller: TransformStreamDefaultController<Bytes>) => {
    const ready = Math.floor((queue.length - 1) / CHUNK_SIZE)
    if (ready <= 0) return
    const first = record
    const chunks = Array.from({ length: ready }, () => queue.take(CHUNK_SIZE))
    record += ready
    const job = inOrder(ready, PARALLEL, (i) => open(first + i, chunks[i]!, false))
    inFlight++
    delivered = delivered.then(async () => {
      const plain = await job.finally(() => inFlight--)
      for (const p of plain) controller.enqueue(p)
    })
    // Awaited later (by the next batch or the end); this only keeps an early failure from being
    // reported as unhandled in the meantime.
    delivered.catch(() => undefined)
  }

  return new TransformStream<Uint8Array, Bytes>(
    {
      async transform(chunk, controller) {
        received += chunk.byteLength
        if (opts.expectedSize !== undefined && received > opts.expectedSize) throw new DecryptError('too_long', record)
        queue.push(chunk)
        if (!headerChecked && queue.length >= HEADER_SIZE) {
          // Read the header before any record: a precise reason beats "tampered".
          const parsed = parseHeader(queue.peek(HEADER_SIZE))
          if (!parsed.ok) throw new DecryptError(parsed.reason, 0)
          if (parsed.fileIndex !== key.index) throw new DecryptError('wrong_file', 0)
          headerChecked = true
        }
        // Every full chunk with more bytes after it is a middle record; they are opened a batch at a
        // time, concurrently (one at a time, WebCrypto's per-call cost would dominate).
        if (headerChecked && Math.floor((queue.length - 1) / CHUNK_SIZE) >= BATCH) openMiddle(controller)
        // Backpressure: at most a few batches in flight; a failed one fails the stream here.
        if (inFlight >= MAX_BATCHES) await delivered
      },
      async flush(controller) {
        // An earlier batch's failure is the first thing to report.
        await delivered
        if (!headerChecked || queue.length === 0) throw new DecryptError('truncated', record)
        if (opts.expectedSize !== undefined && received < opts.expectedSize) throw new DecryptError('truncated', record)
        openMiddle(controller)
        await delivered
        controller.enqueue(await open(record, queue.take(queue.length), true))
      },
    },
    // Room for a few batches on either side, so that reading, decrypting and writing overlap.
    new ByteLengthQueuingStrategy({ highWaterMark: 4 * BATCH * CHUNK_SIZE }),
    new ByteLengthQueuingStrategy({ highWaterMark: 4 * BATCH * CHUNK_SIZE }),
  )
}
