import { open } from 'node:fs/promises'
import { ShareKey, base64url, encryptedSize, formatKeyToken, fromBase64url, newSecret, sealMetadata, sealPart, type FileKey } from '@sharesync/crypto'
import type { CreateShareResponse, SignPartsResponse, UploadResponse, UploadState } from '@sharesync/protocol'
import { errorOf, type Client } from './api'
import { CliError, EXIT } from './exit-codes'
import type { LocalFile } from './files'
import { createProgress } from './progress'
import { dropState, loadState, saveState, stateKey, type SendState } from './state'

export interface SendOptions {
  expiresIn?: number
  maxDownloads?: number
  password?: string
  note?: string
  encrypt: boolean
  /** keep resume state (a file under the state folder) while the upload runs */
  resumable: boolean
  quiet: boolean
}

export interface SendResult {
  id: string
  /** the link to give: with its key in the fragment when encrypted */
  link: string
  url: string
  encrypted: boolean
  expiresAt: string
  maxDownloads: number | null
  ownerToken?: string
  files: { name: string; path: string; size: number }[]
  resumed: boolean
}

/** Parts in flight at once (each is read, and encrypted, in memory: at most this many parts). */
const PARALLEL_PARTS = 3

/** The share key of a new encrypted upload, or of the one being resumed. */
async function keyOf(state: SendState | null, password: string | undefined): Promise<{ key: ShareKey; fragment: string }> {
  if (state?.ikm && state.fragment) return { key: ShareKey.fromIkm(fromBase64url(state.ikm)!, state.access ?? null), fragment: state.fragment }
  const secret = newSecret()
  return { key: await ShareKey.derive(secret, password ?? null), fragment: formatKeyToken(secret, password !== undefined) }
}

/**
 * Sends files as one share with the browser's resumable protocol: declare the files, PUT each part to
 * the signed URL the server gives, complete each file, finalize. With `encrypt`, every part is
 * encrypted here with the web app's record format before it leaves (names too, in the envelope).
 * Interrupted, it resumes from `GET /api/shares/:id/upload` and the local state file.
 */
export async function send(client: Client, files: LocalFile[], opts: SendOptions): Promise<SendResult> {
  const key = stateKey({
    server: client.server,
    files: files.map((f) => (f.contentHash ? [f.name, f.contentHash, f.size] : [f.abs, f.path, f.size, f.mtimeMs])),
    o: { ...opts, quiet: undefined, password: opts.password ? 'set' : '' },
  })
  let state = opts.resumable ? await loadState(key) : null
  const total = files.reduce((n, f) => n + (opts.encrypt ? encryptedSize(f.size) : f.size), 0)
  const progress = createProgress('send', total, { quiet: opts.quiet })
  const ownerHeaders = () => (state?.ownerToken ? { 'x-owner-token': state.ownerToken } : undefined)

  let server: UploadState | null = null
  if (state) {
    server = await client.json<UploadState>('GET', `/api/shares/${state.shareId}/upload`, { headers: ownerHeaders() }).catch((err: unknown) => {
      // The share is gone (expired, deleted): start again.
      if (err instanceof CliError && err.exitCode === EXIT.notFound) return null
      throw err
    })
    if (!server || server.files.length !== files.length) {
      await dropState(key)
      state = null
      server = null
    }
  }

  const sealed = opts.encrypt ? await keyOf(state, opts.password) : null
  if (!state || !server) {
    const common = { expiresIn: opts.expiresIn, maxDownloads: opts.maxDownloads }
    const body = sealed
      ? {
          ...common,
          encrypted: true as const,
          metadata: await sealMetadata(sealed.key, {
            files: files.map((f) => (f.path ? { name: f.name, type: f.type, path: f.path } : { name: f.name, type: f.type })),
            ...(opts.note !== undefined ? { note: opts.note } : {}),
          }),
          files: files.map((f) => ({ size: encryptedSize(f.size) })),
          ...(sealed.key.accessToken ? { password: sealed.key.accessToken } : {}),
        }
      : {
          ...common,
          password: opts.password,
          note: opts.note,
          files: files.map((f) => ({ name: f.name, size: f.size, type: f.type, ...(f.path ? { path: f.path } : {}) })),
        }
    const created = await client.json<CreateShareResponse>('POST', '/api/shares', { body })
    state = {
      shareId: created.id,
      url: created.url,
      ...(created.ownerToken ? { ownerToken: created.ownerToken } : {}),
      ...(sealed ? { fragment: sealed.fragment, ikm: base64url(sealed.key.ikm), access: sealed.key.accessToken } : {}),
    }
    if (opts.resumable) await saveState(key, state)
    server = await client.json<UploadState>('GET', `/api/shares/${created.id}/upload`, { headers: ownerHeaders() })
  } else {
    const held = server.files.reduce((n, f) => n + (f.completed ? f.size : f.parts.filter((p) => p.size === partBytes(f, p.partNumber)).reduce((s, p) => s + p.size, 0)), 0)
    progress.note(`resuming ${state.shareId}: ${formatShare(held, total)} already on the server`)
  }
  const resumed = server.files.some((f) => f.completed || f.parts.length > 0)

  if (server.status === 'uploading') {
    for (const [i, file] of server.files.entries()) {
      const local = files[i]!
      if (file.completed) {
        progress.add(file.size)
        continue
      }
      const fileKey = sealed ? await sealed.key.fileKey(i) : null
      const etags = await sendParts(client, state, file, local, fileKey, progress)
      await client.json('POST', `/api/shares/${state.shareId}/files/${file.id}/complete`, { headers: ownerHeaders(), body: { parts: etags } })
    }
  }
  const done = await client.json<UploadResponse>('POST', `/api/shares/${state.shareId}/finalize`, { headers: ownerHeaders() })
  progress.done()
  if (opts.resumable) await dropState(key)
  return {
    id: done.id,
    link: sealed ? `${done.url}#${state.fragment}` : done.url,
    url: done.url,
    encrypted: sealed !== null,
    expiresAt: done.expiresAt,
    maxDownloads: done.maxDownloads,
    ...(state.ownerToken ? { ownerToken: state.ownerToken } : {}),
    files: files.map((f) => ({ name: f.name, path: f.path, size: f.size })),
    resumed,
  }
}

const formatShare = (held: number, total: number) => `${total > 0 ? Math.floor((held / total) * 100) : 100}%`

/** The exact size of part n (the last one may be shorter). */
function partBytes(file: { size: number; partSize: number }, n: number): number {
  return Math.max(0, Math.min(file.partSize, file.size - (n - 1) * file.partSize))
}

async function sendParts(
  client: Client,
  state: SendState,
  file: UploadState['files'][number],
  local: LocalFile,
  fileKey: FileKey | null,
  progress: ReturnType<typeof createProgress>,
): Promise<{ partNumber: number; etag: string }[]> {
  const etags = new Map<number, string>()
  const todo: number[] = []
  for (let n = 1; n <= file.partCount; n++) {
    const stored = file.parts.find((p) => p.partNumber === n && p.size === partBytes(file, n))
    if (stored) {
      etags.set(n, stored.etag)
      progress.add(stored.size)
    } else todo.push(n)
  }
  const handle = await open(local.abs, 'r')
  const read = async (start: number, end: number) => {
    const buf = Buffer.allocUnsafe(end - start)
    let off = 0
    while (off < buf.length) {
      const { bytesRead } = await handle.read(buf, off, buf.length - off, start + off)
      if (bytesRead === 0) throw new CliError(EXIT.usage, `${local.abs} changed while it was being sent (it is shorter now).`)
      off += bytesRead
    }
    return buf
  }
  const headers = state.ownerToken ? { 'x-owner-token': state.ownerToken } : undefined
  // Parts are signed a few at a time, just before they are sent (signed URLs are short-lived), and
  // PARALLEL_PARTS are always in flight: a lane that finishes takes the next part at once.
  const signed = new Map<number, Promise<string>>()
  const urlOf = (n: number): Promise<string> => {
    if (!signed.has(n)) {
      const batch = todo.filter((m) => m >= n && !signed.has(m)).slice(0, PARALLEL_PARTS)
      const answer = client.json<SignPartsResponse>('POST', `/api/shares/${state.shareId}/files/${file.id}/parts`, { headers, body: { partNumbers: batch } })
      for (const m of batch) {
        const url = answer.then((a) => a.parts.find((p) => p.partNumber === m)?.url ?? Promise.reject(new CliError(EXIT.failure, `The server did not sign part ${m}.`)))
        // Awaited by the lane that sends part m; a failure is reported there, once.
        url.catch(() => undefined)
        signed.set(m, url)
      }
    }
    return signed.get(n)!
  }
  const sendPart = async (partNumber: number) => {
    const url = await urlOf(partNumber)
    const body = fileKey
      ? await sealPart(fileKey, local.size, file.partSize, partNumber, read)
      : await read((partNumber - 1) * file.partSize, (partNumber - 1) * file.partSize + partBytes(file, partNumber))
    const res = await client.raw(new URL(url, client.server).toString(), { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } })
    if (!res.ok) throw await errorOf(res)
    etags.set(partNumber, (res.headers.get('etag') ?? '').replace(/^W\//, ''))
    progress.add(body.length)
  }
  try {
    let next = 0
    let failed = false
    const lane = async () => {
      try {
        while (next < todo.length && !failed) await sendPart(todo[next++]!)
      } catch (err) {
        failed = true
        throw err
      }
    }
    await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTS, todo.length) }, lane))
  } finally {
    await handle.close()
  }
  return [...etags].sort((a, b) => a[0] - b[0]).map(([partNumber, etag]) => ({ partNumber, etag }))
}
