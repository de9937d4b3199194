/// <reference lib="webworker" />
import { createSHA256, type IHasher } from 'hash-wasm'
import type { FromSendWorker, ToSendWorker } from './send-protocol'

/**
 * The send worker: reads the outgoing files ahead of the data channel and hashes them, off the
 * page's main thread; blocks reach the page as transferred buffers (no copy). It keeps the hash
 * state every few MiB, so a transfer resumed at an offset hashes only from the nearest saved state
 * instead of from the start of the file.
 */

const ctx = self as unknown as DedicatedWorkerGlobalScope
const BLOCK = 2 * 1024 * 1024
const SAVE_EVERY = 8 * 1024 * 1024

let files: File[] = []
let generation = 0
let credits = 0
let wake: (() => void) | null = null
/** per file: offset → saved hash state, for offsets that are multiples of SAVE_EVERY */
const saved = new Map<number, Map<number, Uint8Array>>()

const post = (msg: FromSendWorker, transfer: Transferable[] = []) => ctx.postMessage(msg, transfer)

ctx.onmessage = (e: MessageEvent<ToSendWorker>) => {
  const msg = e.data
  if (msg.op === 'files') {
    files = msg.files
    saved.clear()
  } else if (msg.op === 'start') {
    generation = msg.generation
    credits = msg.credits
    wake?.()
    void produce(msg.generation, msg.at.file, msg.at.offset).catch((err: unknown) => {
      if (msg.generation === generation) post({ op: 'error', generation: msg.generation, message: err instanceof Error ? err.message : 'the file could not be read' })
    })
  } else if (msg.op === 'more') {
    if (msg.generation === generation) {
      credits += msg.n
      wake?.()
    }
  } else if (msg.op === 'stop') {
    generation = -1
    wake?.()
  }
}

async function produce(gen: number, fromFile: number, fromOffset: number) {
  // Its own hasher: a stopped generation may still be finishing a read.
  const h: IHasher = await createSHA256()
  for (let index = fromFile; index < files.length; index++) {
    const file = files[index]!
    const states = saved.get(index) ?? new Map<number, Uint8Array>()
    saved.set(index, states)
    const start = index === fromFile ? fromOffset : 0
    // Hash what the receiver already has, from the nearest saved state at or before `start`.
    let offset = 0
    h.init()
    for (const [at, state] of states) {
      if (at <= start && at > offset) {
        offset = at
        h.load(state)
      }
    }
    while (offset < start) {
      const end = Math.min(start, nextBoundary(offset))
      const buf = await file.slice(offset, end).arrayBuffer()
      if (gen !== generation) return
      h.update(new Uint8Array(buf))
      offset = end
      if (offset % SAVE_EVERY === 0) states.set(offset, h.save())
    }
    let next = offset < file.size ? read(file, offset) : null
    while (offset < file.size) {
      const buf = await next!
      if (gen !== generation) return
      const end = offset + buf.byteLength
      next = end < file.size ? read(file, end) : null
      h.update(new Uint8Array(buf))
      if (end % SAVE_EVERY === 0) states.set(end, h.save())
      while (credits <= 0 && gen === generation) await new Promise<void>((resolve) => (wake = resolve))
      if (gen !== generation) return
      credits -= 1
      post({ op: 'block', generation: gen, file: index, offset, buf }, [buf])
      offset = end
    }
    post({ op: 'eof', generation: gen, file: index, sha256: h.digest('hex') })
  }
}

/** Blocks end on multiples of BLOCK, so saved states line up with SAVE_EVERY. */
function nextBoundary(offset: number): number {
  return (Math.floor(offset / BLOCK) + 1) * BLOCK
}

function read(file: File, offset: number): Promise<ArrayBuffer> {
  return file.slice(offset, Math.min(file.size, nextBoundary(offset))).arrayBuffer()
}
