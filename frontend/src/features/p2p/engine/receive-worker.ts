/// <reference lib="webworker" />
import { createSHA256, type IHasher } from 'hash-wasm'
import { writeBatcher } from '../../../lib/write-batcher'
import type { FromWorker, SinkCheckpoint, SinkTarget, ToWorker } from './receive-protocol'

/**
 * The receive worker: hashes and writes one incoming transfer's files off the page's main thread
 * (which only drains the data channel). OPFS files are written through a synchronous access handle
 * (a plain positioned write, no swap-file copy as with createWritable). Every few MiB the file is
 * flushed and a checkpoint (offset + SHA-256 state) goes to the page, which persists it: after a
 * reload the file is cut back to its last checkpoint and the hash goes on from the saved state —
 * or, without one, the written prefix is hashed again from the file.
 */

const ctx = self as unknown as DedicatedWorkerGlobalScope
/** Checkpoints every 1/8 of the file, between 1 and 8 MiB apart. */
const checkpointEvery = (size: number) => Math.max(1024 * 1024, Math.min(8 * 1024 * 1024, Math.floor(size / 8)))
const REPORT_EVERY = 1024 * 1024
const REHASH_BLOCK = 4 * 1024 * 1024

interface Writer {
  readonly resumable: boolean
  /** the writer holds on to chunks after write() (batches, Blob parts): they must not be freed */
  readonly keepsChunks: boolean
  write(chunk: Uint8Array, at: number): void | Promise<void>
  flush(): void | Promise<void>
  /** the saved file, readable again (null once it went to the browser's downloads) */
  close(): Promise<File | null>
  discard(): Promise<void>
}

interface Open {
  file: number
  size: number
  offset: number
  writer: Writer
  sinceCheckpoint: number
  /** test and diagnostics switch: a slow disk, in bytes per second (0: as fast as it goes) */
  bytesPerSecond: number
  startedAt: number
  writtenSinceOpen: number
}

let hasher: IHasher | null = null
let current: Open | null = null
let total = 0
let sinceReport = 0
let lastFile = 0
let lastOffset = 0
const queue: ToWorker[] = []
let running = false
let failed = false

const post = (msg: FromWorker, transfer: Transferable[] = []) => ctx.postMessage(msg, transfer)

ctx.onmessage = (e: MessageEvent<ToWorker>) => {
  queue.push(e.data)
  if (!running) void run()
}

async function run() {
  running = true
  try {
    while (queue.length > 0) {
      const msg = queue.shift()!
      if (failed && msg.op !== 'close') continue
      try {
        await handle(msg)
      } catch (err) {
        failed = true
        post({ op: 'error', message: err instanceof Error ? err.message : 'the file could not be written' })
      }
    }
  } finally {
    running = false
  }
}

async function handle(msg: ToWorker) {
  switch (msg.op) {
    case 'open':
      return open(msg.file, msg.size, msg.target, msg.from, msg.bytesPerSecond)
    case 'chunk':
      await write(new Uint8Array(msg.buf))
      if (current && !current.writer.keepsChunks) release(msg.buf)
      return
    case 'eof':
      return finish(msg.file, msg.sha256)
    case 'drain':
      post({ op: 'drained', total, at: { file: lastFile, offset: lastOffset } })
      return
    case 'close': {
      const o = current
      current = null
      if (o) await (msg.discard ? o.writer.discard() : o.writer.close().then(() => undefined))
      post({ op: 'closed' })
      ctx.close()
      return
    }
  }
}

async function open(file: number, size: number, target: SinkTarget, from: SinkCheckpoint | null, bytesPerSecond: number) {
  if (current) throw new Error('a file is already open')
  hasher ??= await createSHA256()
  hasher.init()
  let offset = 0
  let writer: Writer
  if (target.kind === 'opfs') {
    const root = await navigator.storage.getDirectory()
    const dir = await root.getDirectoryHandle(target.dir, { create: true })
    const handle = await dir.getFileHandle(target.name, { create: true })
    const access = await handle.createSyncAccessHandle()
    const onDisk = access.getSize()
    if (from && from.offset <= onDisk && from.offset <= size) {
      // Bytes after the last checkpoint may be there or not: cut them, the sender sends them again.
      access.truncate(from.offset)
      hasher.load(from.hash)
      offset = from.offset
    } else if (onDisk > 0 && onDisk <= size) {
      offset = rehash(access, onDisk, hasher)
    } else if (onDisk > 0) {
      access.truncate(0)
    }
    writer = opfsWriter(access, handle, dir, target.name)
  } else if (target.kind === 'picked') {
    writer = await pickedWriter(target.handle)
  } else if (target.kind === 'download') {
    writer = downloadWriter(target.port)
  } else {
    writer = blobWriter(target.name, target.type)
  }
  current = { file, size, offset, writer, sinceCheckpoint: 0, bytesPerSecond, startedAt: performance.now(), writtenSinceOpen: 0 }
  lastFile = file
  lastOffset = offset
  post({ op: 'opened', file, offset, resumable: writer.resumable })
}

/**
 * Frees a written chunk's memory now (ArrayBuffer.prototype.transfer detaches it) instead of when
 * the garbage collector gets to it: V8 sweeps external memory late, so without this a fast
 * transfer keeps tens of MiB of written chunks around.
 */
function release(buf: ArrayBuffer) {
  ;(buf as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer }).transfer?.(0)
}

function rehash(access: FileSystemSyncAccessHandle, size: number, h: IHasher): number {
  const block = new Uint8Array(REHASH_BLOCK)
  let at = 0
  while (at < size) {
    const n = access.read(block.subarray(0, Math.min(REHASH_BLOCK, size - at)), { at })
    if (n <= 0) break
    h.update(block.subarray(0, n))
    at += n
  }
  access.truncate(at)
  return at
}

async function write(chunk: Uint8Array) {
  const o = current
  if (!o) throw new Error('data before the file was opened')
  if (o.offset + chunk.byteLength > o.size) throw new Error('more data than offered')
  hasher!.update(chunk)
  await o.writer.write(chunk, o.offset)
  o.offset += chunk.byteLength
  o.sinceCheckpoint += chunk.byteLength
  o.writtenSinceOpen += chunk.byteLength
  total += chunk.byteLength
  sinceReport += chunk.byteLength
  lastOffset = o.offset
  if (o.sinceCheckpoint >= checkpointEvery(o.size) && o.writer.resumable) {
    await o.writer.flush()
    o.sinceCheckpoint = 0
    post({ op: 'checkpoint', file: o.file, checkpoint: { offset: o.offset, hash: hasher!.save() } })
  }
  if (sinceReport >= REPORT_EVERY) {
    sinceReport = 0
    post({ op: 'written', total, at: { file: o.file, offset: o.offset } })
  }
  if (o.bytesPerSecond > 0) {
    const due = o.startedAt + (o.writtenSinceOpen / o.bytesPerSecond) * 1000
    const wait = due - performance.now()
    if (wait > 1) await new Promise((r) => setTimeout(r, wait))
  }
}

async function finish(file: number, sha256: string) {
  const o = current
  if (!o || o.file !== file) throw new Error('end of a file that is not open')
  current = null
  const ok = o.offset === o.size && hasher!.digest('hex') === sha256
  // A damaged file is never offered: its partial copy is deleted (or its download failed).
  const saved = ok ? await o.writer.close() : (await o.writer.discard(), null)
  lastFile = file + 1
  lastOffset = 0
  sinceReport = 0
  post({ op: 'written', total, at: { file: lastFile, offset: 0 } })
  post({ op: 'checked', file, ok, saved })
}

function opfsWriter(access: FileSystemSyncAccessHandle, handle: FileSystemFileHandle, dir: FileSystemDirectoryHandle, name: string): Writer {
  let closed = false
  const release = () => {
    if (closed) return
    closed = true
    access.flush()
    access.close()
  }
  return {
    resumable: true,
    keepsChunks: false,
    write(chunk, at) {
      const n = access.write(chunk, { at })
      if (n !== chunk.byteLength) throw new Error('the disk is full')
    },
    flush: () => access.flush(),
    async close() {
      release()
      return handle.getFile()
    },
    async discard() {
      release()
      await dir.removeEntry(name).catch(() => undefined)
    },
  }
}

async function pickedWriter(handle: FileSystemFileHandle): Promise<Writer> {
  const writable = await handle.createWritable()
  const batch = writeBatcher((b) => writable.write(b))
  return {
    resumable: false,
    keepsChunks: true,
    write: (chunk) => batch.push(chunk),
    flush: () => undefined,
    async close() {
      await batch.flush()
      await writable.close()
      return handle.getFile()
    },
    async discard() {
      batch.drop()
      await writable.abort().catch(() => undefined)
      // The page created this file under a free name: removing it never touches another file.
      await (handle as FileSystemFileHandle & { remove?: () => Promise<void> }).remove?.().catch(() => undefined)
    },
  }
}

/** Streams into the service worker, 4 MiB at a time, each batch answered 'ok' when it wants more. */
function downloadWriter(port: MessagePort): Writer {
  let waiter: ((msg: string) => void) | null = null
  let cancelled = false
  port.onmessage = (e: MessageEvent) => {
    if (e.data === 'cancelled') cancelled = true
    const w = waiter
    waiter = null
    w?.(String(e.data))
  }
  const batch = writeBatcher(async (b) => {
    const ok = new Promise<string>((resolve) => (waiter = resolve))
    port.postMessage(b.buffer, [b.buffer])
    await ok
    if (cancelled) throw new Error('the download was cancelled in the browser')
  })
  return {
    resumable: false,
    keepsChunks: true,
    write: (chunk) => batch.push(chunk),
    flush: () => undefined,
    async close() {
      await batch.flush()
      port.postMessage('end')
      return null
    },
    async discard() {
      batch.drop()
      port.postMessage('abort')
    },
  }
}

/** Blob slabs of 16 MiB (Chromium keeps big blobs on disk; other browsers in memory: small files only). */
function blobWriter(name: string, type: string): Writer {
  const SLAB = 16 * 1024 * 1024
  let slabs: Blob[] = []
  let parts: Uint8Array<ArrayBuffer>[] = []
  let pending = 0
  const seal = () => {
    if (pending === 0) return
    slabs.push(new Blob(parts))
    parts = []
    pending = 0
  }
  return {
    resumable: false,
    keepsChunks: true,
    write(chunk) {
      parts.push(chunk as Uint8Array<ArrayBuffer>)
      pending += chunk.byteLength
      if (pending >= SLAB) seal()
    },
    flush: () => undefined,
    async close() {
      seal()
      const file = new File(slabs, name, { type: type || 'application/octet-stream' })
      slabs = []
      return file
    },
    async discard() {
      slabs = []
      parts = []
    },
  }
}
