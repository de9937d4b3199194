import downloadWorkerUrl from './download-sw.ts?worker&url'

/**
 * Where a received file goes, best first: a place the person picked (File System Access API), the
 * origin-private file system (OPFS), a service-worker stream into the browser's downloads, or, where
 * none exists (plain-http LAN origins), Blob slabs — which Chromium keeps on disk when large, other
 * browsers in memory, so that last path is meant for small files. Never one growing in-memory array.
 */

export type SinkKind = 'picked' | 'opfs' | 'download' | 'blob'
/** A diagnostics switch (and what the end-to-end tests use to reach every path in Chromium). */
export type ForcedSink = 'opfs' | 'download' | 'blob'

export interface FileSink {
  readonly kind: SinkKind
  write(chunk: Uint8Array): Promise<void>
  /** The saved file (readable again, e.g. to offer a download link); null once it went to the downloads. */
  close(): Promise<File | null>
  abort(): Promise<void>
}

/** Files above this should have a streaming sink (OPFS, a picked folder, a download stream). */
export const BLOB_SINK_LIMIT = 512 * 1024 * 1024
/** Below this, a Blob is simpler than a download stream (an instant "Save" link, no extra worker). */
const SMALL_FILE = 32 * 1024 * 1024
const SLAB = 16 * 1024 * 1024
const OPFS_DIR = 'sharesync-p2p'

/** Chromium-only pickers and directory iteration, not in TypeScript's DOM library yet. */
interface SavePickerWindow {
  showSaveFilePicker?: (opts: { suggestedName?: string }) => Promise<FileSystemFileHandle>
  showDirectoryPicker?: (opts: { mode?: 'read' | 'readwrite' }) => Promise<FileSystemDirectoryHandle>
}
const pickers = (): SavePickerWindow => (typeof window === 'undefined' ? {} : (window as Window & SavePickerWindow))

export function canPickLocation(): boolean {
  return typeof pickers().showDirectoryPicker === 'function' && typeof window !== 'undefined' && window.isSecureContext
}

export function canUseOpfs(): boolean {
  return (
    typeof navigator !== 'undefined' &&
    typeof navigator.storage?.getDirectory === 'function' &&
    typeof FileSystemFileHandle !== 'undefined' &&
    'createWritable' in FileSystemFileHandle.prototype
  )
}

/** Asks where to save (a folder, so several files need one question). Must run in a click handler. */
export async function pickDirectory(): Promise<FileSystemDirectoryHandle | null> {
  const pick = pickers().showDirectoryPicker
  if (!pick) return null
  try {
    return await pick({ mode: 'readwrite' })
  } catch {
    return null // dismissed
  }
}

/**
 * OPFS keeps received files so that they can still be saved; files older than a day are cleared when
 * a session starts (not newer ones: another tab of the app may still be offering them).
 */
export async function clearOldReceivedFiles(maxAgeMs = 24 * 3600 * 1000): Promise<void> {
  if (!canUseOpfs()) return
  try {
    const root = await navigator.storage.getDirectory()
    const dir = (await root.getDirectoryHandle(OPFS_DIR, { create: true })) as FileSystemDirectoryHandle & { keys?: () => AsyncIterable<string> }
    if (!dir.keys) return
    const names: string[] = []
    for await (const name of dir.keys()) names.push(name)
    const old = async (name: string) => {
      const file = await (await dir.getFileHandle(name)).getFile()
      return Date.now() - file.lastModified > maxAgeMs
    }
    for (const name of names) if (await old(name).catch(() => false)) await dir.removeEntry(name).catch(() => undefined)
  } catch {
    // Best effort: storage may be unavailable in this context.
  }
}

export function canStreamDownloads(): boolean {
  return typeof window !== 'undefined' && window.isSecureContext && 'serviceWorker' in navigator && typeof ReadableStream === 'function'
}

/** Whether a file of `size` can be received here without holding it in memory. */
export function canStreamToDisk(size: number): boolean {
  return size <= BLOB_SINK_LIMIT || canUseOpfs() || canStreamDownloads()
}

/** A writable file: a picked folder, else OPFS (when it has room), else a download stream, else Blob slabs. */
export async function openSink(
  file: { name: string; size: number; type: string },
  uniqueName: string,
  picked: FileSystemDirectoryHandle | null,
  force?: ForcedSink,
): Promise<FileSink> {
  if (picked) {
    const handle = await picked.getFileHandle(safeName(file.name), { create: true })
    return writableSink('picked', await handle.createWritable(), () => handle.getFile(), async () => {
      await picked.removeEntry(handle.name).catch(() => undefined)
    })
  }
  if ((!force || force === 'opfs') && canUseOpfs() && (await hasRoom(file.size))) {
    try {
      const root = await navigator.storage.getDirectory()
      const dir = await root.getDirectoryHandle(OPFS_DIR, { create: true })
      const handle = await dir.getFileHandle(uniqueName, { create: true })
      const writable = await handle.createWritable()
      return writableSink('opfs', writable, async () => renamed(await handle.getFile(), file.name, file.type), () => dir.removeEntry(uniqueName).catch(() => undefined))
    } catch {
      // OPFS refused (private mode, quota): fall back below.
    }
  }
  if (((!force && file.size > SMALL_FILE) || force === 'download') && canStreamDownloads()) {
    try {
      return await downloadSink(file, uniqueName)
    } catch {
      // The worker could not be registered: fall back to a Blob.
    }
  }
  return blobSink(file.name, file.type)
}

async function hasRoom(size: number): Promise<boolean> {
  try {
    const { quota, usage } = await navigator.storage.estimate()
    return quota === undefined || usage === undefined || quota - usage > size + 64 * 1024 * 1024
  } catch {
    return true
  }
}

/**
 * Gathers chunks into ~4 MiB batches: each write to a writable or to the service worker is a
 * round trip to another process, so fewer, larger writes keep the receiver fast.
 */
function batcher(writeBatch: (batch: Uint8Array<ArrayBuffer>) => Promise<void>) {
  const BATCH = 4 * 1024 * 1024
  let parts: Uint8Array[] = []
  let pending = 0
  const flush = async () => {
    if (pending === 0) return
    const batch = new Uint8Array(pending)
    let offset = 0
    for (const p of parts) {
      batch.set(p, offset)
      offset += p.byteLength
    }
    parts = []
    pending = 0
    await writeBatch(batch)
  }
  return {
    async push(chunk: Uint8Array) {
      parts.push(chunk)
      pending += chunk.byteLength
      if (pending >= BATCH) await flush()
    },
    flush,
    drop() {
      parts = []
      pending = 0
    },
  }
}

function writableSink(kind: SinkKind, writable: FileSystemWritableFileStream, read: () => Promise<File>, remove: () => Promise<void>): FileSink {
  const batches = batcher((batch) => writable.write(batch))
  return {
    kind,
    write: (chunk) => batches.push(chunk),
    async close() {
      await batches.flush()
      await writable.close()
      return read()
    },
    async abort() {
      batches.drop()
      await writable.abort().catch(() => undefined)
      await remove()
    },
  }
}

function blobSink(name: string, type: string): FileSink {
  let slabs: Blob[] = []
  let parts: Uint8Array[] = []
  let pending = 0
  const seal = () => {
    if (pending === 0) return
    slabs.push(new Blob(parts as BlobPart[]))
    parts = []
    pending = 0
  }
  return {
    kind: 'blob',
    async write(chunk) {
      parts.push(chunk)
      pending += chunk.byteLength
      if (pending >= SLAB) seal()
    },
    async close() {
      seal()
      const file = new File(slabs, name, { type: type || 'application/octet-stream' })
      slabs = []
      return file
    },
    async abort() {
      slabs = []
      parts = []
    },
  }
}

function renamed(file: File, name: string, type: string): File {
  // An OPFS file carries its storage name; the download should carry the sender's name. Slicing keeps
  // it disk-backed (no copy into memory).
  return new File([file], name, { type: type || file.type || 'application/octet-stream' })
}

/** A name that is safe as one path segment on every OS. */
export function safeName(name: string): string {
  const cleaned = name.replace(/[\u0000-\u001f\u007f<>:"/\\|?*]/g, '_').replace(/^\.+/, '_').trim()
  return (cleaned || 'file').slice(0, 200)
}

const WORKER_SCOPE = () => new URL('./p2p-dl/', new URL(downloadWorkerUrl, window.location.href)).pathname

async function activeWorker(): Promise<ServiceWorker> {
  const reg = await navigator.serviceWorker.register(downloadWorkerUrl, { scope: WORKER_SCOPE(), type: import.meta.env.DEV ? 'module' : 'classic' })
  if (reg.active) return reg.active
  const installing = reg.installing ?? reg.waiting
  if (!installing) throw new Error('no service worker')
  await new Promise<void>((resolve, reject) => {
    installing.addEventListener('statechange', () => {
      if (installing.state === 'activated') resolve()
      if (installing.state === 'redundant') reject(new Error('service worker failed'))
    })
  })
  return installing
}

/** Streams into the browser's downloads through the service worker, 4 MiB at a time, paced by it. */
async function downloadSink(file: { name: string; size: number; type: string }, id: string): Promise<FileSink> {
  const worker = await activeWorker()
  const { port1, port2 } = new MessageChannel()
  let waiter: ((msg: string) => void) | null = null
  let cancelled = false
  port1.onmessage = (e: MessageEvent) => {
    if (e.data === 'cancelled') cancelled = true
    const w = waiter
    waiter = null
    w?.(String(e.data))
  }
  const reply = () => new Promise<string>((resolve) => (waiter = resolve))
  const registered = reply()
  worker.postMessage({ type: 'p2p-download', id, name: safeName(file.name), size: file.size, mime: file.type }, [port2])
  if ((await registered) !== 'registered') throw new Error('service worker did not answer')
  const frame = document.createElement('iframe')
  frame.hidden = true
  frame.title = 'download'
  frame.src = `${WORKER_SCOPE()}${id}/${encodeURIComponent(safeName(file.name))}`
  document.body.appendChild(frame)

  const batches = batcher(async (batch) => {
    const ok = reply()
    port1.postMessage(batch.buffer, [batch.buffer])
    await ok
    if (cancelled) throw new Error('the download was cancelled in the browser')
  })
  // The iframe must stay until the download manager has the whole stream.
  const removeFrame = () => setTimeout(() => frame.remove(), 60_000)
  return {
    kind: 'download',
    write: (chunk) => batches.push(chunk),
    async close() {
      await batches.flush()
      port1.postMessage('end')
      removeFrame()
      return null
    },
    async abort() {
      batches.drop()
      port1.postMessage('abort')
      removeFrame()
    },
  }
}
