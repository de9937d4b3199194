import { i18n } from '../../../i18n'
import { canStreamDownloads, downloadPort, safeName } from '../../p2p/engine/sinks'
import { writeBatcher } from '../../../lib/write-batcher'
import type { SaveCapabilities, SaveKind } from './save-kind'
import { removeOldScratch, scratchDir } from './scratch-files'

export { FORCED_SAVE_KEY, MEMORY_LIMIT, saveKind, type ForcedSave, type SaveKind } from './save-kind'

/**
 * Where a decrypted file goes as it streams, best first: the browser's downloads through the service
 * worker (secure origins), a file the person picks, the origin-private file system (then offered as a
 * download), or — on plain-http origins, which have none of these — memory, up to MEMORY_LIMIT. A
 * file is only offered as complete after its last record verified; `abort()` fails the download (the
 * service-worker stream errors, so the browser marks it failed) and throws away what was written.
 */

interface SavePickerWindow {
  showSaveFilePicker?: (opts: { suggestedName?: string }) => Promise<FileSystemFileHandle>
}

export function saveCapabilities(): SaveCapabilities {
  const secure = typeof window !== 'undefined' && window.isSecureContext
  return {
    serviceWorker: canStreamDownloads(),
    savePicker: secure && typeof (window as Window & SavePickerWindow).showSaveFilePicker === 'function',
    opfs:
      secure &&
      typeof navigator.storage?.getDirectory === 'function' &&
      typeof FileSystemFileHandle !== 'undefined' &&
      'createWritable' in FileSystemFileHandle.prototype,
  }
}

export interface SaveSink {
  readonly kind: SaveKind
  write(chunk: Uint8Array): Promise<void>
  /** Everything verified: finish the download, or offer the saved file. */
  close(): Promise<void>
  /** Something failed: no file is offered, what was written goes. */
  abort(): Promise<void>
}

const OPFS_DIR = 'sharesync-cloud'
/** Messages to the download stream's worker not yet answered. */
const IN_FLIGHT = 2

/**
 * Opens the target for one file. Call it first thing in the click handler: the save picker needs the
 * click's user activation. `id` names the download stream and the OPFS scratch file.
 */
export async function openSave(file: { name: string; size: number; type: string }, id: string, kind: SaveKind): Promise<SaveSink> {
  const type = file.type || 'application/octet-stream'
  if (kind === 'download') return downloadSink(await downloadPort({ ...file, type }, id))
  if (kind === 'picked') {
    const pick = (window as Window & SavePickerWindow).showSaveFilePicker!
    const handle = await pick({ suggestedName: safeName(file.name) })
    const writable = await handle.createWritable()
    return writableSink('picked', writable, async () => undefined)
  }
  if (kind === 'opfs') {
    const dir = await scratchDir(OPFS_DIR)
    const handle = await dir.getFileHandle(id, { create: true })
    const writable = await handle.createWritable()
    return writableSink(
      'opfs',
      writable,
      async () => offer(new File([await handle.getFile()], file.name, { type })),
      () => dir.removeEntry(id).catch(() => undefined),
    )
  }
  return memorySink(file.name, type)
}

/** Removes OPFS copies of files offered more than an hour ago (their downloads are long done). */
export async function clearOldSaved(maxAgeMs = 3600_000): Promise<void> {
  if (saveCapabilities().opfs) await removeOldScratch(OPFS_DIR, maxAgeMs)
}

/** Offers a saved file as a download under the sender's name. */
function offer(file: File) {
  const url = URL.createObjectURL(file)
  const a = document.createElement('a')
  a.href = url
  a.download = safeName(file.name)
  a.rel = 'noopener'
  a.style.display = 'none'
  document.body.appendChild(a)
  a.click()
  a.remove()
  // The download manager has the file well before this; the OPFS copy goes with the next visit.
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}

/**
 * Streams into the service worker's download stream, ~4 MiB of records per message, joined into one
 * transferred buffer. The worker answers each message with 'ok' once its stream wants more; two
 * messages may be on their way, so that the worker always has the next one.
 */
function downloadSink(port: MessagePort): SaveSink {
  const waiting: (() => void)[] = []
  let unanswered = 0
  let cancelled = false
  port.onmessage = (e: MessageEvent) => {
    if (e.data === 'cancelled') cancelled = true
    unanswered = Math.max(0, unanswered - 1)
    waiting.shift()?.()
    // A cancelled download answers no more: release every waiter.
    if (cancelled) for (const w of waiting.splice(0)) w()
  }
  const room = async (limit: number) => {
    while (unanswered >= limit && !cancelled) await new Promise<void>((resolve) => waiting.push(resolve))
    if (cancelled) throw new Error(i18n.t('engine.downloadCancelled'))
  }
  // One buffer per message, not one per 64 KiB record: posting the records' buffers took 45 % of
  // the page's main thread while it decrypted 256 MiB in Chromium (profiled); the joined buffers
  // cost an eighth of that, copy included.
  const out = writeBatcher(async (batch) => {
    await room(IN_FLIGHT)
    unanswered++
    port.postMessage(batch.buffer, [batch.buffer])
  })
  return {
    kind: 'download',
    write: (chunk) => out.push(chunk),
    async close() {
      await out.flush()
      // Messages arrive in order: the stream ends after the last bytes.
      port.postMessage('end')
    },
    async abort() {
      out.drop()
      port.postMessage('abort')
    },
  }
}

function writableSink(
  kind: SaveKind,
  writable: FileSystemWritableFileStream,
  done: () => Promise<void>,
  remove?: () => Promise<void>,
): SaveSink {
  const out = writeBatcher((batch) => writable.write(batch))
  return {
    kind,
    write: (chunk) => out.push(chunk),
    async close() {
      await out.flush()
      await writable.close()
      await done()
    },
    async abort() {
      out.drop()
      await writable.abort().catch(() => undefined)
      await remove?.()
    },
  }
}

/** Blob slabs: Chromium keeps large Blobs on disk, other browsers in memory (hence MEMORY_LIMIT). */
function memorySink(name: string, type: string): SaveSink {
  let slabs: Blob[] = []
  const out = writeBatcher(async (batch) => {
    slabs.push(new Blob([batch]))
  })
  return {
    kind: 'memory',
    write: (chunk) => out.push(chunk),
    async close() {
      await out.flush()
      offer(new File(slabs, name, { type }))
      slabs = []
    },
    async abort() {
      out.drop()
      slabs = []
    },
  }
}
