import type { ShareKey } from './keys'
import { AuthenticationError, base64url, concat, fromBase64url, randomBytes, utf8, type Bytes } from './primitives'

/**
 * The metadata envelope: everything about a share that is not file contents — file names and types,
 * and the share's note — encrypted as one JSON document with the share's metadata key. The server
 * stores it as an opaque base64url string next to the share.
 *
 *   envelope = "SSM" ‖ 0x01 ‖ nonce (12 random bytes) ‖ AES-256-GCM(metadata key, nonce, aad = "SSM" ‖ 0x01, json)
 *   json     = {"v":1,"files":[{"name":…,"type":…},…],"note":…}, padded with spaces to a multiple of 256 bytes
 *
 * Files are listed in share order (file i of the share is files[i]); the padding hides the exact
 * length of the names. Readers ignore fields they do not know, so later versions can add some.
 */

export const METADATA_VERSION = 1
export const METADATA_PADDING = 256
const PREFIX = new Uint8Array([0x53, 0x53, 0x4d, METADATA_VERSION]) // "SSM" 1
const NONCE = 12
const TAG = 16

export interface SealedFileInfo {
  name: string
  type: string
  /** The folder the file sat in, relative to what was shared (`holiday/day 1`); absent at the top. */
  path?: string
}

export interface ShareManifest {
  files: SealedFileInfo[]
  /** The sender's message to recipients (optional). */
  note?: string
  /** A text-only share's text (its `files` are then empty). */
  text?: string
}

export type MetadataFailure = 'wrong_key' | 'malformed' | 'unsupported_version'

export class MetadataError extends Error {
  constructor(readonly kind: MetadataFailure) {
    super(
      kind === 'wrong_key'
        ? 'The key in this link does not open this share (the link is incomplete, or the password is wrong).'
        : kind === 'unsupported_version'
          ? 'This share was encrypted by a newer version of ShareSync.'
          : 'The encrypted description of this share is damaged.',
    )
    this.name = 'MetadataError'
  }
}

/** Encrypts the manifest. `nonce` is for test vectors only: normally it is random. */
export async function sealMetadata(key: ShareKey, manifest: ShareManifest, nonce: Uint8Array = randomBytes(NONCE)): Promise<string> {
  if (nonce.length !== NONCE) throw new RangeError('a nonce is 12 bytes')
  const doc: { v: number; files: SealedFileInfo[]; note?: string; text?: string } = {
    v: METADATA_VERSION,
    files: manifest.files.map((f) => (f.path ? { name: f.name, type: f.type, path: f.path } : { name: f.name, type: f.type })),
  }
  if (manifest.note !== undefined) doc.note = manifest.note
  if (manifest.text !== undefined) doc.text = manifest.text
  const json = utf8(JSON.stringify(doc))
  const padded = new Uint8Array(Math.ceil(json.byteLength / METADATA_PADDING) * METADATA_PADDING).fill(0x20)
  padded.set(json, 0)
  const sealed = await (await key.metadataKey()).seal(new Uint8Array(nonce), PREFIX, padded)
  return base64url(concat(PREFIX, nonce, sealed))
}

/** Decrypts and checks an envelope; throws MetadataError. */
export async function openMetadata(key: ShareKey, envelope: string): Promise<ShareManifest> {
  const bytes = fromBase64url(envelope)
  if (!bytes || bytes.length < PREFIX.length + NONCE + TAG) throw new MetadataError('malformed')
  if (bytes[0] !== PREFIX[0] || bytes[1] !== PREFIX[1] || bytes[2] !== PREFIX[2]) throw new MetadataError('malformed')
  if (bytes[3] !== METADATA_VERSION) throw new MetadataError('unsupported_version')
  let plain: Bytes
  try {
    plain = await (await key.metadataKey()).open(bytes.slice(4, 4 + NONCE), PREFIX, bytes.subarray(4 + NONCE))
  } catch (err) {
    if (err instanceof AuthenticationError) throw new MetadataError('wrong_key')
    throw err
  }
  let doc: unknown
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain))
  } catch {
    throw new MetadataError('malformed')
  }
  return checkManifest(doc)
}

function checkManifest(doc: unknown): ShareManifest {
  if (typeof doc !== 'object' || doc === null) throw new MetadataError('malformed')
  const d = doc as { v?: unknown; files?: unknown; note?: unknown; text?: unknown }
  if (d.v !== METADATA_VERSION) throw new MetadataError(typeof d.v === 'number' && d.v > METADATA_VERSION ? 'unsupported_version' : 'malformed')
  if (!Array.isArray(d.files)) throw new MetadataError('malformed')
  const files = d.files.map((f: unknown): SealedFileInfo => {
    const file = f as { name?: unknown; type?: unknown; path?: unknown } | null
    if (typeof file?.name !== 'string' || file.name.length === 0 || typeof file.type !== 'string') throw new MetadataError('malformed')
    if (file.path !== undefined && typeof file.path !== 'string') throw new MetadataError('malformed')
    return file.path ? { name: file.name, type: file.type, path: file.path } : { name: file.name, type: file.type }
  })
  if (d.note !== undefined && typeof d.note !== 'string') throw new MetadataError('malformed')
  if (d.text !== undefined && typeof d.text !== 'string') throw new MetadataError('malformed')
  const manifest: ShareManifest = { files }
  if (d.note !== undefined) manifest.note = d.note
  if (d.text !== undefined) manifest.text = d.text
  return manifest
}
