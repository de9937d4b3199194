import { i18n } from '../../../i18n'
import { decryptStream, type FileKey } from '@sharesync/crypto'
import { makeZip, predictLength } from 'client-zip'
import { DownloadFailed, downloadFailure } from './decrypt-download'
import type { SaveSink } from './save-file'

export interface ZipFile {
  /** the entry's name in the zip (folders included) */
  name: string
  /** plaintext size */
  size: number
  encryptedSize: number
  lastModified: Date
  key: () => Promise<FileKey>
  /** the file's download URL, asked for only when the zip reaches it (a signed URL lives a minute) */
  url: () => Promise<string>
}

/** The exact size of the zip `zipDecrypted` writes for these files (ZIP64 where sizes need it). */
export const zipSize = (files: Pick<ZipFile, 'name' | 'size'>[]) =>
  Number(predictLength(files.map((f) => ({ name: f.name, size: f.size }))))

/**
 * "Download all" of an end-to-end encrypted share, built in this browser: each file is fetched when
 * the zip reaches it, decrypted record by record as its bytes arrive and written into the zip, which
 * streams into the same save targets as single files (the browser's downloads, a picked file, OPFS,
 * memory on plain http). Nothing is held whole; the zip is offered only once every record of every
 * file verified — a tampered or cut file fails the whole zip and nothing is saved.
 */
export async function zipDecrypted(opts: {
  files: ZipFile[]
  sink: SaveSink
  onProgress?: (bytes: number) => void
  signal?: AbortSignal
}): Promise<void> {
  const { sink } = opts
  let written = 0
  async function* entries() {
    for (const f of opts.files) {
      const url = await f.url()
      const res = await fetch(url, { signal: opts.signal, credentials: 'omit', cache: 'no-store' }).catch((err: unknown) => {
        throw new DownloadFailed(i18n.t('engine.downloadNoStart', { reason: err instanceof Error ? err.message : i18n.t('engine.networkError') }), 'network')
      })
      if (!res.ok || !res.body) throw new DownloadFailed(i18n.t('engine.downloadServerFor', { status: res.status, name: f.name }), 'server')
      yield {
        name: f.name,
        lastModified: f.lastModified,
        size: f.size,
        input: res.body.pipeThrough(decryptStream(await f.key(), { expectedSize: f.encryptedSize })),
      }
    }
  }
  try {
    const reader = makeZip(entries(), { buffersAreUTF8: true }).getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      await sink.write(value)
      written += value.byteLength
      opts.onProgress?.(written)
    }
    await sink.close()
  } catch (err) {
    await sink.abort().catch(() => undefined)
    throw downloadFailure(err, opts.signal)
  }
}
