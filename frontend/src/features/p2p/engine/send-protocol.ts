import type { Position } from '@sharesync/protocol'

/** Messages between the page and the send worker (one per outgoing transfer). */
export type ToSendWorker =
  | { op: 'files'; files: File[] }
  /** read from `at`; each start has a new generation, and blocks of older ones are dropped */
  | { op: 'start'; generation: number; at: Position; credits: number }
  /** the page consumed `n` blocks: read that many more ahead */
  | { op: 'more'; generation: number; n: number }
  | { op: 'stop' }

export type FromSendWorker =
  | { op: 'block'; generation: number; file: number; offset: number; buf: ArrayBuffer }
  | { op: 'eof'; generation: number; file: number; sha256: string }
  | { op: 'error'; generation: number; message: string }
