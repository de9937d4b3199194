import type { PeerFile, Position } from '@sharesync/protocol'
import { createStore, del, entries, set, type UseStore } from 'idb-keyval'
import type { SinkCheckpoint } from './receive-protocol'
import type { Direction } from './transfer-machine'

/**
 * Transfers that can go on after a reload, kept in IndexedDB: what was offered, with whom, in which
 * room, and (receiver) the last checkpoint of the file being written. The bytes themselves are in
 * OPFS; a checkpoint is only written after the file was flushed up to its offset.
 */

export interface SavedTransfer {
  id: string
  direction: Direction
  /** the room's link secret: a transfer resumes only in the room it started in */
  room: string
  peerId: string
  peerName: string
  files: PeerFile[]
  at: Position
  checkpoint: (SinkCheckpoint & { file: number }) | null
  savedAt: number
}

/** Older checkpoints are dropped (with their partial files) when a session starts. */
export const CHECKPOINT_MAX_AGE_MS = 24 * 3600 * 1000

let store: UseStore | null | undefined

function db(): UseStore | null {
  if (store !== undefined) return store
  try {
    store = typeof indexedDB === 'undefined' ? null : createStore('sharesync-p2p', 'transfers')
  } catch {
    store = null
  }
  return store
}

export async function saveTransfer(t: SavedTransfer): Promise<void> {
  const s = db()
  if (s) await set(t.id, t, s).catch(() => undefined)
}

export async function forgetTransfer(id: string): Promise<void> {
  const s = db()
  if (s) await del(id, s).catch(() => undefined)
}

/** The transfers saved for a room; stale ones are forgotten on the way. */
export async function savedTransfers(room: string, now = Date.now()): Promise<SavedTransfer[]> {
  const s = db()
  if (!s) return []
  try {
    const all = await entries<string, SavedTransfer>(s)
    const out: SavedTransfer[] = []
    for (const [id, t] of all) {
      if (now - t.savedAt > CHECKPOINT_MAX_AGE_MS) await del(id, s)
      else if (t.room === room) out.push(t)
    }
    return out
  } catch {
    return []
  }
}

/** Ids of every saved transfer (their OPFS files must not be cleared). */
export async function savedTransferIds(): Promise<Set<string>> {
  const s = db()
  if (!s) return new Set()
  try {
    return new Set((await entries<string, SavedTransfer>(s)).map(([id]) => id))
  } catch {
    return new Set()
  }
}
