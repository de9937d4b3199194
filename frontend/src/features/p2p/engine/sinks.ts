import downloadWorkerUrl from './download-sw.ts?worker&url'
import { activeServiceWorker } from '../../../lib/download-worker'
import type { SinkTarget } from './receive-protocol'

/**
 * Where a received file goes, best first: a place the person picked (File System Access API), the
 * origin-private file system (OPFS), a service-worker stream into the browser's downloads, or, where
 * none exists (plain-http LAN origins), Blob slabs — which Chromium keeps on disk when large, other
 * browsers in memory, so that last path is meant for small files. Never one growing in-memory array.
 */

export type SinkKind = 'picked' | 'opfs' | 'download' | 'blob'
/** A diagnostics switch (and what the end-to-end tests use to reach every path in Chromium). */
export type ForcedSink = 'opfs' | 'download' | 'blob'

/** Files above this should have a streaming sink (OPFS, a picked folder, a download stream). */
export const BLOB_SINK_LIMIT = 512 * 1024 * 1024
/** Below this, a Blob is simpler than a download stream (an instant "Save" link, no extra worker). */
const SMALL_FILE = 32 * 1024 * 1024
export const OPFS_DIR = 'sharesync-p2p'

/** Chromium-only pickers and directory iteration, not in TypeScript's DOM library yet. */
interface SavePickerWindow {
  showSaveFilePicker?: (opts: { suggestedName?: string }) => Promise<FileSystemFileHandle>
  showDirectoryPicker?: (opts: { mode?: 'read' | 'readwrite' }) => Promise<FileSystemDirectoryHandle>
}
const pickers = (): SavePickerWindow => (typeof window === 'undefined' ? {} : (window as Window & SavePickerWindow))

export function canPickLocation(): boolean {
  return typeof pickers().showDirectoryPicker === 'function' && typeof window !== 'undefined' && window.isSecureContext
}

/** OPFS files are written in the receive worker with a synchronous access handle (secure contexts). */
export function canUseOpfs(): boolean {
  return typeof window !== 'undefined' && window.isSecureContext && typeof navigator.storage?.getDirectory === 'function' && typeof Worker === 'function'
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
export async function clearOldReceivedFiles(keep: Set<string>, maxAgeMs = 24 * 3600 * 1000): Promise<void> {
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
    // A transfer that can still resume keeps its partial files (named `${transferId}-${index}`).
    const kept = (name: string) => keep.has(name.replace(/-\d+$/, ''))
    for (const name of names) if (!kept(name) && (await old(name).catch(() => false))) await dir.removeEntry(name).catch(() => undefined)
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

/** The OPFS name of file `index` of a transfer (stable across reloads, so a transfer can resume). */
export function opfsName(transferId: string, index: number): string {
  return `${transferId}-${index}`
}

/**
 * Where file `index` of a transfer goes: a picked folder (a new file under a free name), else OPFS
 * (when it has room), else a download stream, else Blob slabs.
 */
export async function sinkTarget(
  file: { name: string; size: number; type: string },
  transferId: string,
  index: number,
  picked: FileSystemDirectoryHandle | null,
  force?: ForcedSink,
): Promise<SinkTarget> {
  if (picked) return { kind: 'picked', handle: await createFreeFile(picked, safeName(file.name)) }
  if ((!force || force === 'opfs') && canUseOpfs() && (await hasRoom(file.size))) return { kind: 'opfs', dir: OPFS_DIR, name: opfsName(transferId, index) }
  if (((!force && file.size > SMALL_FILE) || force === 'download') && canStreamDownloads()) {
    try {
      return { kind: 'download', port: await downloadPort(file, `${transferId}-${index}`) }
    } catch {
      // The worker could not be registered: fall back to a Blob.
    }
  }
  return { kind: 'blob', name: file.name, type: file.type }
}

/** A saved OPFS file of an earlier (reloaded) page, as the sender named it. */
export async function opfsFile(transferId: string, index: number, file: { name: string; type: string }): Promise<File | null> {
  try {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(OPFS_DIR)
    return renamed(await (await dir.getFileHandle(opfsName(transferId, index))).getFile(), file.name, file.type)
  } catch {
    return null
  }
}

export async function removeOpfsFiles(transferId: string, count: number): Promise<void> {
  if (!canUseOpfs()) return
  try {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(OPFS_DIR)
    for (let i = 0; i < count; i++) await dir.removeEntry(opfsName(transferId, i)).catch(() => undefined)
  } catch {
    // nothing saved here
  }
}

/**
 * A new file in a picked folder under a name no file there has yet ("a.txt", "a (1).txt", …): an
 * existing file of the same name is never opened, overwritten or deleted.
 */
export async function createFreeFile(dir: FileSystemDirectoryHandle, name: string): Promise<FileSystemFileHandle> {
  for (let n = 0; n < 10_000; n++) {
    const candidate = n === 0 ? name : numbered(name, n)
    const exists = await dir.getFileHandle(candidate).then(
      () => true,
      () => false,
    )
    if (!exists) return dir.getFileHandle(candidate, { create: true })
  }
  throw new Error('no free file name in the folder')
}

/** "photo.jpg" → "photo (2).jpg"; ".bashrc" → ".bashrc (2)". */
export function numbered(name: string, n: number): string {
  const dot = name.lastIndexOf('.')
  return dot > 0 ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`
}

/** A name not yet in `taken` (received files in one page get distinct names). */
export function uniqueName(name: string, taken: Set<string>): string {
  let candidate = name
  for (let n = 1; taken.has(candidate); n++) candidate = numbered(name, n)
  taken.add(candidate)
  return candidate
}

async function hasRoom(size: number): Promise<boolean> {
  try {
    const { quota, usage } = await navigator.storage.estimate()
    return quota === undefined || usage === undefined || quota - usage > size + 64 * 1024 * 1024
  } catch {
    return true
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

const activeWorker = () => activeServiceWorker(downloadWorkerUrl, WORKER_SCOPE())

/**
 * Registers a download stream with the service worker and opens it in a hidden iframe; the
 * returned port goes to the receive worker, which streams the file's bytes into it.
 */
export async function downloadPort(file: { name: string; size: number; type: string }, id: string): Promise<MessagePort> {
  const worker = await activeWorker()
  const { port1, port2 } = new MessageChannel()
  const registered = new Promise<unknown>((resolve) => (port1.onmessage = (e: MessageEvent) => resolve(e.data)))
  worker.postMessage({ type: 'p2p-download', id, name: safeName(file.name), size: file.size, mime: file.type }, [port2])
  if ((await registered) !== 'registered') throw new Error('service worker did not answer')
  port1.onmessage = null
  const frame = document.createElement('iframe')
  frame.hidden = true
  frame.title = 'download'
  // The worker names the file (Content-Disposition); the URL carries no name, so that even a request
  // the worker somehow missed would tell the server nothing (end-to-end encrypted names go this way).
  frame.src = `${WORKER_SCOPE()}${id}/download`
  document.body.appendChild(frame)
  // The iframe stays while the page is open: removing it early can cancel a stream in progress.
  return port1
}
