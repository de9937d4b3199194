import type { Position } from '@sharesync/protocol'

/**
 * Messages between the page and the receive worker (one worker per incoming transfer). The page
 * only forwards the data channel's chunks (transferring their buffers, no copy); the worker hashes
 * them (SHA-256, hash-wasm) and writes them to the sink, and reports what is on disk.
 */

export type SinkTarget =
  /** the origin-private file system, written with a synchronous access handle (no swap-file copy) */
  | { kind: 'opfs'; dir: string; name: string }
  /** a file in a folder the person picked, created by the page under a name that was free */
  | { kind: 'picked'; handle: FileSystemFileHandle }
  /** a stream into the browser's downloads, through the service worker (this port reaches it) */
  | { kind: 'download'; port: MessagePort }
  /** Blob slabs (small files, where nothing else exists) */
  | { kind: 'blob'; name: string; type: string }

/** The hash state and offset saved with each checkpoint, to go on after a reload. */
export interface SinkCheckpoint {
  offset: number
  /** hash-wasm's saved SHA-256 state at `offset` */
  hash: Uint8Array
}

export type ToWorker =
  | { op: 'open'; file: number; size: number; target: SinkTarget; from: SinkCheckpoint | null; bytesPerSecond: number }
  | { op: 'chunk'; buf: ArrayBuffer }
  | { op: 'eof'; file: number; sha256: string }
  /** answer with the exact position once every queued chunk is written */
  | { op: 'drain' }
  | { op: 'close'; discard: boolean }

export type FromWorker =
  | { op: 'opened'; file: number; offset: number; resumable: boolean }
  /** `total`: bytes written since the worker started, for credit and progress */
  | { op: 'written'; total: number; at: Position }
  | { op: 'checkpoint'; file: number; checkpoint: SinkCheckpoint }
  | { op: 'checked'; file: number; ok: boolean; saved: File | null }
  | { op: 'drained'; total: number; at: Position }
  | { op: 'closed' }
  | { op: 'error'; message: string }
