import { ShareKey, encryptedSize, formatKeyToken, newSecret, sealMetadata } from '@sharesync/crypto'
import type { CreateShareRequest, CreateTextRequest } from '@sharesync/protocol'
import { folderOfFile } from '../../../lib/file-paths'
import { partBlob, sealPartRecords } from './seal-part'
import type { SealReply, SealRequest } from './seal-protocol'
import { removeOldScratch, scratchDir } from './scratch-files'
import SealWorker from './seal-worker.ts?worker'

/**
 * The sender's side of an end-to-end encrypted link: what the upload page calls before
 * `POST /api/shares` (names and types sealed into the metadata envelope, sizes replaced by encrypted
 * sizes, the password replaced by the access token), and the per-part transform the upload engine
 * calls before each PUT (in a worker). docs/encryption.md describes the format.
 */

/** What the upload engine needs to send a file it does not send as it is. */
export interface PartEncoder {
  /** bytes stored for the whole file (what the server announced and enforces) */
  size: number
  /** the body of part `partNumber` (1-based), given the server's part size */
  part(partNumber: number, partSize: number): Promise<Blob>
  /** the part's PUT is over (sent or failed): what its body held can go */
  release?(partNumber: number): void
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
  /** scratch files of this file's staged parts, by part number */
  const staged = new Map<number, string>()
  const drop = (partNumber: number) => {
    const name = staged.get(partNumber)
    staged.delete(partNumber)
    if (name) void removeStaged(name)
  }
  return {
    size: encryptedSize(file.size),
    async part(partNumber, partSize) {
      const sealer = sealWorker()
      if (!sealer) return partBlob(await sealPartRecords(await key.fileKey(index), file, partSize, partNumber))
      const name = (await stagingWanted()) ? crypto.randomUUID() : null
      const sealed = await sealer.seal({ ikm: key.ikm, index, file, partSize, partNumber, ...(name ? { stage: { dir: STAGE_DIR, name } } : {}) })
      if (sealed === 'staged') {
        drop(partNumber)
        staged.set(partNumber, name!)
        // a Blob backed by a file: the browser streams it from there, and keeps nothing once sent
        return (await (await scratchDir(STAGE_DIR)).getFileHandle(name!)).getFile()
      }
      // The Blob is made here, on the page that sends it (see SealReply): the page's heap grows
      // with each part's records, so its collector runs and frees the parts already sent.
      return partBlob(sealed)
    },
    release: drop,
  }
}

/** Where staged parts wait for their PUT, in the origin's private storage (OPFS). */
const STAGE_DIR = 'sharesync-parts'
/** Staged parts older than this belong to no running upload (a page closed mid-part): removed. */
const STAGE_MAX_AGE_MS = 3600_000
let staging: Promise<boolean> | null = null

/**
 * Whether sealed parts go through a scratch file before their PUT. A service worker without static
 * routing (Firefox ESR) sees every request of the page it controls, and while it lives the browser
 * keeps each intercepted body that was made in memory: a 1 GiB encrypted upload kept 1 GiB in
 * Firefox's parent process. A body read from a file is not kept. The worker says whether it routes
 * PUTs past itself; one that does not answer is taken as one that does not.
 */
function stagingWanted(): Promise<boolean> {
  const controller = typeof navigator === 'undefined' ? null : navigator.serviceWorker?.controller
  // Not controlled (yet: on a first visit the worker claims the page a moment after it loads): asked
  // again with the next part, so that a worker that takes over mid-upload is asked too.
  if (!controller) return Promise.resolve(false)
  staging ??= (async () => {
    if (!isSecureContext || typeof navigator.storage?.getDirectory !== 'function') return false
    const routes = await new Promise<boolean>((resolve) => {
      const channel = new MessageChannel()
      const timer = setTimeout(() => resolve(false), 2000)
      channel.port1.onmessage = (e: MessageEvent<{ staticRoutes?: unknown }>) => {
        clearTimeout(timer)
        resolve(e.data?.staticRoutes === true)
      }
      controller.postMessage({ type: 'static-routes?' }, [channel.port2])
    })
    if (routes) return false
    void removeOldScratch(STAGE_DIR, STAGE_MAX_AGE_MS)
    return true
  })()
  return staging
}

async function removeStaged(name: string): Promise<void> {
  try {
    await (await scratchDir(STAGE_DIR)).removeEntry(name)
  } catch {
    // already gone, or storage unavailable: the next upload's clean-up takes it
  }
}

/** A worker idle this long is stopped (a new one starts with the next part). */
const IDLE_MS = 15_000
let shared: ReturnType<typeof startSealWorker> | null = null
let unavailable = false

/**
 * The page's seal worker, started on first use: encrypting a part (reading it, WebCrypto's copies,
 * building its Blob) costs the main thread more than sending it, so the page only sends. Null where
 * workers cannot start (the part is then sealed on the main thread, with the same bytes).
 */
function sealWorker() {
  if (unavailable || typeof Worker === 'undefined') return null
  try {
    shared ??= startSealWorker()
    return shared
  } catch {
    unavailable = true
    return null
  }
}

function startSealWorker() {
  const worker = new SealWorker()
  const waiting = new Map<number, { resolve: (sealed: Uint8Array<ArrayBuffer>[] | 'staged') => void; reject: (e: Error) => void }>()
  let nextId = 0
  let idle: ReturnType<typeof setTimeout> | undefined
  const stop = (reason: Error) => {
    worker.terminate()
    if (shared === handle) shared = null
    for (const w of waiting.values()) w.reject(reason)
    waiting.clear()
  }
  worker.onmessage = (e: MessageEvent<SealReply>) => {
    const w = waiting.get(e.data.id)
    if (!w) return
    waiting.delete(e.data.id)
    if ('records' in e.data) w.resolve(e.data.records)
    else if ('staged' in e.data) w.resolve('staged')
    else w.reject(new Error(e.data.message))
    if (waiting.size === 0) idle = setTimeout(() => waiting.size === 0 && stop(new Error('stopped')), IDLE_MS)
  }
  worker.onerror = (e) => {
    e.preventDefault()
    // A worker that cannot run here (script refused, crashed): seal on the main thread from now on.
    unavailable = true
    stop(new Error(e.message || 'the encryption worker stopped'))
  }
  const handle = {
    /** the part's records, or 'staged' when the worker wrote them into the scratch file asked for */
    seal(req: Omit<SealRequest, 'id'>): Promise<Uint8Array<ArrayBuffer>[] | 'staged'> {
      clearTimeout(idle)
      const id = nextId++
      return new Promise<Uint8Array<ArrayBuffer>[] | 'staged'>((resolve, reject) => {
        waiting.set(id, { resolve, reject })
        worker.postMessage({ ...req, id } satisfies SealRequest)
      })
    },
  }
  return handle
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
