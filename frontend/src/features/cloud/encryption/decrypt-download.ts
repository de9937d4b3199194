import { i18n } from '../../../i18n'
import { DecryptError, decryptStream, type FileKey } from '@sharesync/crypto'
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
    throw describe(err, opts.signal)
  }
}

function describe(err: unknown, signal: AbortSignal | undefined): DownloadFailed {
  if (err instanceof DownloadFailed) return err
  if (signal?.aborted) return new DownloadFailed('Download cancelled; nothing was saved.', 'cancelled')
  if (err instanceof DecryptError) return new DownloadFailed(`${err.message} Nothing was saved.`, 'tampered')
  return new DownloadFailed(
    i18n.t('engine.downloadInterrupted', { reason: err instanceof Error ? err.message : i18n.t('engine.networkError') }),
    'network',
  )
}
