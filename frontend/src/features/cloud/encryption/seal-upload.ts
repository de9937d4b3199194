import { ShareKey, encryptedSize, formatKeyToken, newSecret, sealMetadata, sealPartPieces } from '@sharesync/crypto'
import type { CreateShareRequest, CreateTextRequest } from '@sharesync/protocol'
import { folderOfFile } from '../../../lib/file-paths'

/**
 * The sender's side of an end-to-end encrypted link: what the upload page calls before
 * `POST /api/shares` (names and types sealed into the metadata envelope, sizes replaced by encrypted
 * sizes, the password replaced by the access token), and the per-part transform the upload engine
 * calls before each PUT. docs/encryption.md describes the format.
 */

/** What the upload engine needs to send a file it does not send as it is. */
export interface PartEncoder {
  /** bytes stored for the whole file (what the server announced and enforces) */
  size: number
  /** the body of part `partNumber` (1-based), given the server's part size */
  part(partNumber: number, partSize: number): Promise<Blob>
}

export interface SealedShare {
  request: CreateShareRequest
  key: ShareKey
  /** the link's fragment (without '#'): the secret, with ".p" when the password is needed too */
  token: string
}

/** Encrypts the names and types and builds the create request; with a password, derives the key from it too. */
export async function sealShare(
  files: File[],
  options: { expiresIn?: number; maxDownloads: number | null; password: string | null; note?: string; previews?: boolean },
): Promise<SealedShare> {
  const secret = newSecret()
  const key = await ShareKey.derive(secret, options.password)
  // Names, types, folders and the note: all inside the envelope, never in the clear.
  const metadata = await sealMetadata(key, {
    files: files.map((f) => ({
      name: f.name,
      type: f.type || 'application/octet-stream',
      ...(folderOfFile(f) ? { path: folderOfFile(f) } : {}),
    })),
    ...(options.note ? { note: options.note } : {}),
  })
  const request: CreateShareRequest = {
    encrypted: true,
    metadata,
    files: files.map((f) => ({ size: encryptedSize(f.size) })),
    expiresIn: options.expiresIn,
    maxDownloads: options.maxDownloads,
    ...(options.previews !== undefined ? { previews: options.previews } : {}),
    ...(key.accessToken ? { password: key.accessToken } : {}),
  }
  return { request, key, token: formatKeyToken(secret, options.password !== null) }
}

/** Encrypts file number `index` of the share part by part, reading only that part of the file. */
export function partEncoder(key: ShareKey, index: number, file: File): PartEncoder {
  return {
    size: encryptedSize(file.size),
    async part(partNumber, partSize) {
      const fileKey = await key.fileKey(index)
      const pieces = await sealPartPieces(
        fileKey,
        file.size,
        partSize,
        partNumber,
        async (start, end) => new Uint8Array(await file.slice(start, end).arrayBuffer()),
      )
      // A Blob of the records, not one array: the browser streams the body from its blob store like
      // a file slice, instead of copying an array into the request (several times slower in Chromium).
      return new Blob(pieces)
    },
  }
}

/** The link to hand out: the share page with the key in the fragment (never sent to a server). */
export function linkWithKey(url: string, token: string): string {
  return `${url.split('#')[0]}#${token}`
}

/** An end-to-end encrypted text share: the note in the share's envelope, the text in a second one. */
export async function sealText(
  text: string,
  options: { expiresIn?: number; maxDownloads: number | null; password: string | null; note?: string },
): Promise<{ request: CreateTextRequest; key: ShareKey; token: string }> {
  const secret = newSecret()
  const key = await ShareKey.derive(secret, options.password)
  const metadata = await sealMetadata(key, { files: [], ...(options.note ? { note: options.note } : {}) })
  const sealed = await sealMetadata(key, { files: [], text })
  const request: CreateTextRequest = {
    encrypted: true,
    metadata,
    text: sealed,
    expiresIn: options.expiresIn,
    maxDownloads: options.maxDownloads,
    ...(key.accessToken ? { password: key.accessToken } : {}),
  }
  return { request, key, token: formatKeyToken(secret, options.password !== null) }
}
