/**
 * The layout of an encrypted file (format version 1), without any cryptography: sizes, the header,
 * record boundaries and nonces. docs/encryption.md describes the same thing in prose.
 *
 * An encrypted file is cut into chunks of CHUNK_SIZE bytes (the last one may be shorter). Chunk 0
 * starts with the 16-byte header; every chunk then holds exactly one record: AES-256-GCM ciphertext
 * followed by its 16-byte tag. Because a chunk is a power of two, any multipart part whose size is a
 * multiple of CHUNK_SIZE holds whole records, so each part encrypts (and re-encrypts) on its own.
 */

export const FORMAT_VERSION = 1
/** Bytes of one chunk on the wire (record + tag, plus the header in chunk 0). */
export const CHUNK_SHIFT = 16
export const CHUNK_SIZE = 2 ** CHUNK_SHIFT
export const HEADER_SIZE = 16
export const TAG_SIZE = 16
export const NONCE_SIZE = 12
/** Plaintext bytes of record 0 (its chunk also holds the header) and of every later record. */
export const FIRST_RECORD_PLAIN = CHUNK_SIZE - HEADER_SIZE - TAG_SIZE
export const RECORD_PLAIN = CHUNK_SIZE - TAG_SIZE
/** The smallest encrypted file: header + the tag of one empty final record. */
export const MIN_ENCRYPTED_SIZE = HEADER_SIZE + TAG_SIZE

const MAGIC = [0x53, 0x53, 0x45] // "SSE"
/** Record indexes fit in 7 nonce bytes; JavaScript numbers stay exact far beyond any real file. */
const MAX_RECORDS = Number.MAX_SAFE_INTEGER

/** How many records a file of `plainSize` bytes has (an empty file still has one: the final record). */
export function recordCount(plainSize: number): number {
  assertSize(plainSize)
  if (plainSize <= FIRST_RECORD_PLAIN) return 1
  return 1 + Math.ceil((plainSize - FIRST_RECORD_PLAIN) / RECORD_PLAIN)
}

/** The size of the encrypted file: what the server stores, counts and enforces. */
export function encryptedSize(plainSize: number): number {
  return HEADER_SIZE + plainSize + TAG_SIZE * recordCount(plainSize)
}

/** The plaintext size of an encrypted file of `size` bytes, or null when no plaintext encrypts to that size. */
export function plainSizeOf(size: number): number | null {
  if (!Number.isSafeInteger(size) || size < MIN_ENCRYPTED_SIZE) return null
  const records = Math.ceil(size / CHUNK_SIZE)
  const last = size - (records - 1) * CHUNK_SIZE
  if (last < TAG_SIZE + (records === 1 ? HEADER_SIZE : 0)) return null
  const plain = size - HEADER_SIZE - TAG_SIZE * records
  return encryptedSize(plain) === size ? plain : null
}

/** Where record `index` starts in the plaintext, and how long it is in a file of `plainSize` bytes. */
export function recordPlainRange(plainSize: number, index: number): { start: number; end: number } {
  const start = index === 0 ? 0 : FIRST_RECORD_PLAIN + (index - 1) * RECORD_PLAIN
  const full = index === 0 ? FIRST_RECORD_PLAIN : RECORD_PLAIN
  return { start: Math.min(start, plainSize), end: Math.min(start + full, plainSize) }
}

/**
 * The records and plaintext bytes of one multipart part. `partSize` is the size of every part but the
 * last in encrypted bytes (what the server announced); it must be a multiple of CHUNK_SIZE.
 */
export function partLayout(
  plainSize: number,
  partSize: number,
  partNumber: number,
): { firstRecord: number; records: number; plainStart: number; plainEnd: number; size: number } {
  if (!Number.isSafeInteger(partSize) || partSize <= 0 || partSize % CHUNK_SIZE !== 0) {
    throw new RangeError(`part size ${partSize} is not a multiple of ${CHUNK_SIZE}`)
  }
  const total = encryptedSize(plainSize)
  const start = (partNumber - 1) * partSize
  if (!Number.isSafeInteger(partNumber) || partNumber < 1 || start >= total) throw new RangeError(`no part ${partNumber}`)
  const end = Math.min(total, start + partSize)
  const firstRecord = start / CHUNK_SIZE
  const records = Math.ceil(end / CHUNK_SIZE) - firstRecord
  return {
    firstRecord,
    records,
    plainStart: recordPlainRange(plainSize, firstRecord).start,
    plainEnd: recordPlainRange(plainSize, firstRecord + records - 1).end,
    size: end - start,
  }
}

/** How many parts of `partSize` encrypted bytes an encrypted file of `plainSize` bytes needs. */
export function partCount(plainSize: number, partSize: number): number {
  return Math.ceil(encryptedSize(plainSize) / partSize)
}

/** The 16-byte header of file number `fileIndex` (its position in the share); it is every record's AAD. */
export function fileHeader(fileIndex: number): Uint8Array<ArrayBuffer> {
  assertIndex(fileIndex)
  const h = new Uint8Array(HEADER_SIZE)
  h.set(MAGIC, 0)
  h[3] = FORMAT_VERSION
  h[4] = CHUNK_SHIFT
  new DataView(h.buffer).setUint32(8, fileIndex)
  return h
}

/** What a header says, or why it cannot be read by this version. */
export function parseHeader(h: Uint8Array): { ok: true; fileIndex: number } | { ok: false; reason: 'not_encrypted' | 'unsupported_version' } {
  if (h.length < HEADER_SIZE || MAGIC.some((b, i) => h[i] !== b)) return { ok: false, reason: 'not_encrypted' }
  if (h[3] !== FORMAT_VERSION || h[4] !== CHUNK_SHIFT) return { ok: false, reason: 'unsupported_version' }
  for (const i of [5, 6, 7, 12, 13, 14, 15]) if (h[i] !== 0) return { ok: false, reason: 'unsupported_version' }
  return { ok: true, fileIndex: new DataView(h.buffer, h.byteOffset, h.byteLength).getUint32(8) }
}

/** nonce = file index (4 bytes) ‖ record index (7 bytes) ‖ 0x01 for the file's last record, else 0x00. */
export function recordNonce(fileIndex: number, recordIndex: number, last: boolean): Uint8Array<ArrayBuffer> {
  assertIndex(fileIndex)
  if (!Number.isSafeInteger(recordIndex) || recordIndex < 0 || recordIndex > MAX_RECORDS) throw new RangeError('record index out of range')
  const n = new Uint8Array(NONCE_SIZE)
  const view = new DataView(n.buffer)
  view.setUint32(0, fileIndex)
  // 7 bytes, big-endian: the high 3 bytes and the low 4 bytes.
  const high = Math.floor(recordIndex / 2 ** 32)
  view.setUint8(4, (high >>> 16) & 0xff)
  view.setUint16(5, high & 0xffff)
  view.setUint32(7, recordIndex >>> 0)
  n[11] = last ? 1 : 0
  return n
}

function assertSize(n: number) {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a file size: ${n}`)
}

function assertIndex(i: number) {
  if (!Number.isInteger(i) || i < 0 || i > 0xffffffff) throw new RangeError(`not a file index: ${i}`)
}
