/**
 * Where a received file goes, best first: a place the person picked (File System Access API), the
 * origin-private file system (OPFS), or, where neither exists (plain-http LAN origins, older
 * browsers), Blob slabs — which Chromium keeps on disk when large, others in memory, so that last
 * path is for small files only. Never one growing in-memory array.
 */

export type SinkKind = 'picked' | 'opfs' | 'blob'

export interface FileSink {
  readonly kind: SinkKind
  write(chunk: Uint8Array): Promise<void>
  /** The saved file (readable again, e.g. to offer a download link). */
  close(): Promise<File>
  abort(): Promise<void>
}

/** Files above this need a streaming sink (OPFS or a picked location). */
export const BLOB_SINK_LIMIT = 512 * 1024 * 1024
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

/** OPFS keeps received files until the page is left; older ones are cleared when a session starts. */
export async function clearOldReceivedFiles(keep: (name: string) => boolean = () => false): Promise<void> {
  if (!canUseOpfs()) return
  try {
    const root = await navigator.storage.getDirectory()
    const dir = (await root.getDirectoryHandle(OPFS_DIR, { create: true })) as FileSystemDirectoryHandle & { keys?: () => AsyncIterable<string> }
    const names: string[] = []
    if (!dir.keys) return
    for await (const name of dir.keys()) names.push(name)
    await Promise.all(names.filter((n) => !keep(n)).map((n) => dir.removeEntry(n).catch(() => undefined)))
  } catch {
    // Best effort: storage may be unavailable in this context.
  }
}

/** A writable file: a picked folder, else OPFS (when it has room), else Blob slabs (small files). */
export async function openSink(file: { name: string; size: number; type: string }, uniqueName: string, picked: FileSystemDirectoryHandle | null): Promise<FileSink> {
  if (picked) {
    const handle = await picked.getFileHandle(safeName(file.name), { create: true })
    return writableSink('picked', await handle.createWritable(), () => handle.getFile(), async () => {
      await picked.removeEntry(handle.name).catch(() => undefined)
    })
  }
  if (canUseOpfs() && (await hasRoom(file.size))) {
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

/** Batches chunks into ~4 MiB writes: each write is an IPC round trip to the storage process. */
function writableSink(kind: SinkKind, writable: FileSystemWritableFileStream, read: () => Promise<File>, remove: () => Promise<void>): FileSink {
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
    await writable.write(batch)
  }
  return {
    kind,
    async write(chunk) {
      parts.push(chunk)
      pending += chunk.byteLength
      if (pending >= BATCH) await flush()
    },
    async close() {
      await flush()
      await writable.close()
      return read()
    },
    async abort() {
      parts = []
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
