import { i18n } from '../../../i18n'
import { DecryptError, decryptStream, type DecryptFailure, type FileKey } from '@sharesync/crypto'
import type { DecryptFailureReason, DecryptKeepAlive } from './decrypt-protocol'
import { openDecryptingDownload } from './decrypt-worker'
import type { SaveSink } from './save-file'

/**
 * The recipient's side of one encrypted file: fetch the (signed) download URL, decrypt record by
 * record as the bytes arrive, write the plaintext to the save target. The target is closed — the file
 * offered as complete — only after the last record verified; any failure aborts it.
 */

const PROGRESS_MS = 200

export class DownloadFailed extends Error {
  constructor(
    message: string,
    readonly reason: 'tampered' | 'network' | 'server' | 'cancelled',
  ) {
    super(message)
    this.name = 'DownloadFailed'
  }
}

export async function downloadDecrypted(opts: {
  url: string
  key: FileKey
  /** the encrypted size the server announced */
  encryptedSize: number
  sink: SaveSink
  signal?: AbortSignal
  onProgress?: (plainBytes: number) => void
}): Promise<void> {
  const { sink } = opts
  let written = 0
  let reported = 0
  try {
    const res = await fetch(opts.url, { signal: opts.signal, credentials: 'omit', cache: 'no-store' }).catch((err: unknown) => {
      throw new DownloadFailed(i18n.t('engine.downloadNoStart', { reason: err instanceof Error ? err.message : i18n.t('engine.networkError') }), 'network')
    })
    if (!res.ok || !res.body) throw new DownloadFailed(i18n.t('engine.downloadServer', { status: res.status }), 'server')
    // A pipe, so that fetching, decrypting and saving run at the same time (each stage has a queue).
    await res.body.pipeThrough(decryptStream(opts.key, { expectedSize: opts.encryptedSize })).pipeTo(
      new WritableStream<Uint8Array>(
        {
          async write(chunk) {
            await sink.write(chunk)
            written += chunk.byteLength
            // A few updates a second: a page re-render per 64 KiB record would slow the download.
            const now = performance.now()
            if (now - reported >= PROGRESS_MS) {
              reported = now
              opts.onProgress?.(written)
            }
          },
        },
        new ByteLengthQueuingStrategy({ highWaterMark: 8 * 1024 * 1024 }),
      ),
      { signal: opts.signal },
    )
    await sink.close()
  } catch (err) {
    await sink.abort().catch(() => undefined)
    throw downloadFailure(err, opts.signal)
  }
}

/** Why a decrypting download failed, in the reader's language: cancelled, a file that did not verify, or the network. */
export function downloadFailure(err: unknown, signal: AbortSignal | undefined): DownloadFailed {
  if (err instanceof DownloadFailed) return err
  if (signal?.aborted) return new DownloadFailed(i18n.t('encrypted.failed.cancelled'), 'cancelled')
  if (err instanceof DecryptError) return untrusted(err.kind)
  return new DownloadFailed(
    i18n.t('engine.downloadInterrupted', { reason: err instanceof Error ? err.message : i18n.t('engine.networkError') }),
    'network',
  )
}

/**
 * The same download, decrypted by the download service worker instead of this page: the worker
 * fetches the ciphertext and streams the verified plaintext into the browser's downloads itself; the
 * page hands it the URL (issued under its lease) and the key, and hears the counts and the outcome.
 */
export async function downloadInServiceWorker(opts: {
  url: string
  ikm: Uint8Array<ArrayBuffer>
  index: number
  encryptedSize: number
  file: { name: string; size: number; type: string }
  id: string
  onProgress?: (plainBytes: number) => void
}): Promise<void> {
  let resolve!: () => void
  let reject!: (err: DownloadFailed) => void
  const outcome = new Promise<void>((ok, fail) => {
    resolve = ok
    reject = fail
  })
  let started = false
  const { worker, port } = await openDecryptingDownload(
    { ...opts.file, id: opts.id, url: opts.url, ikm: opts.ikm, index: opts.index, encryptedSize: opts.encryptedSize },
    (msg) => {
      if (msg.type === 'started') started = true
      else if (msg.type === 'progress') opts.onProgress?.(msg.done)
      else if (msg.type === 'done') resolve()
      else if (msg.type === 'failed') reject(failure(msg.reason))
    },
  )
  // Chromium stops an idle service worker after 30 s, and a stream it serves does not count as work.
  const keepAlive = setInterval(() => worker.postMessage({ type: 'e2e-keepalive' } satisfies DecryptKeepAlive), KEEP_ALIVE_MS)
  // The iframe's request reaches the worker at once; one that never does is a failed download.
  const noStart = setTimeout(() => {
    if (!started) reject(new DownloadFailed(i18n.t('engine.downloadNoStart', { reason: i18n.t('engine.networkError') }), 'network'))
  }, START_MS)
  try {
    await outcome
  } finally {
    clearTimeout(noStart)
    clearInterval(keepAlive)
    port.close()
  }
}

const KEEP_ALIVE_MS = 10_000
const START_MS = 30_000

function failure(reason: DecryptFailureReason): DownloadFailed {
  if (reason.kind === 'tampered') return untrusted(reason.failure)
  if (reason.kind === 'server') return new DownloadFailed(i18n.t('engine.downloadServer', { status: reason.status }), 'server')
  if (reason.kind === 'cancelled') return new DownloadFailed(i18n.t('engine.downloadCancelled'), 'cancelled')
  return new DownloadFailed(i18n.t('engine.downloadInterrupted', { reason: reason.message || i18n.t('engine.networkError') }), 'network')
}

/** A file that did not decrypt (changed, cut short, too long, foreign): nothing of it was saved. */
const untrusted = (kind: DecryptFailure) => new DownloadFailed(i18n.t(`encrypted.failed.${kind}`), 'tampered')
