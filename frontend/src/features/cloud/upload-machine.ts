import { i18n } from '../../i18n'
import { expectedPartSize, type UploadState } from '@sharesync/protocol'

/**
 * The upload as a small state machine: a pure reducer over events the engine reports, and selectors
 * the engine's workers ask (which part next, wait or go). No I/O, no timers: time comes in with the
 * events, so every rule here is unit-tested in milliseconds.
 *
 *   checking ──stateLoaded──▶ uploading ──all parts stored──▶ completing ──all files complete──▶ finalizing ──finalized──▶ done
 *      │                          │ ▲                                 │
 *      └──stateLoaded(finalized)──┼─┼──────────────▶ done             └──resynced (parts the server lacks)──▶ uploading
 *                                 │ └── part failed, retryable: back to pending (backoff, or a shared pause on 429 / offline)
 *                                 └──── refused, or out of attempts ──▶ failed      (any state) ──cancelled──▶ cancelled
 *
 * "done" is reached only from a server that says the share is finalized (finalize answered, or the
 * state route says so): never from a guess.
 */

export type Phase = 'checking' | 'uploading' | 'completing' | 'finalizing' | 'done' | 'failed' | 'cancelled'
export type PartStatus = 'pending' | 'sending' | 'stored'

export interface PartState {
  status: PartStatus
  /** ETag storage answered ('' while not stored, or when the store did not expose it) */
  etag: string
  /** PUTs started for this part in this session */
  attempts: number
  /** bytes of the current PUT that reached the network */
  loaded: number
  /** a failed part waits until then (ms epoch) before it is sent again: its backoff */
  retryAt: number
}

export interface MachineFile {
  id: string
  /** bytes stored for this file (the encrypted size for an encrypted file) */
  size: number
  partSize: number
  completed: boolean
  parts: PartState[]
}

export interface UploadMachine {
  phase: Phase
  files: MachineFile[]
  /** every worker waits until this time (ms epoch): a 429's Retry-After applies to all of them */
  pausedUntil: number
  offline: boolean
  /** bytes the server already held when this session started: shown, never counted as speed */
  resumedBytes: number
  /** what went wrong: retrying (still going) or the reason it failed */
  problem: { message: string; retrying: boolean } | null
  maxAttempts: number
}

/** Why a part PUT failed, as the engine classified it. */
export type PartFailure =
  | { kind: 'network' | 'server' | 'stalled'; message: string }
  /** the signed URL expired (403): sign again and send */
  | { kind: 'expired'; message: string }
  | { kind: 'rateLimited'; message: string; retryAfterMs: number }
  /** a client error no retry can fix (413, 400, 404 …) */
  | { kind: 'refused'; message: string }

export type UploadEvent =
  | { type: 'stateLoaded'; state: UploadState }
  | { type: 'partStarted'; file: number; part: number }
  | { type: 'partProgress'; file: number; part: number; loaded: number }
  | { type: 'partStored'; file: number; part: number; etag: string }
  /** `random` in [0, 1): the jitter of this part's backoff */
  | { type: 'partFailed'; file: number; part: number; failure: PartFailure; at: number; random: number }
  | { type: 'paused'; until: number; message: string }
  | { type: 'offline' }
  | { type: 'online' }
  | { type: 'retrying'; message: string }
  | { type: 'fileCompleted'; file: number }
  | { type: 'finalized' }
  | { type: 'failed'; message: string }
  | { type: 'cancelled' }

export interface LocalFile {
  id: string
  size: number
  partSize: number
  partCount: number
}

export function initialMachine(files: LocalFile[], maxAttempts = 8): UploadMachine {
  return {
    phase: 'checking',
    files: files.map((f) => ({
      id: f.id,
      size: f.size,
      partSize: f.partSize,
      completed: false,
      parts: Array.from({ length: f.partCount }, () => ({ status: 'pending' as const, etag: '', attempts: 0, loaded: 0, retryAt: 0 })),
    })),
    pausedUntil: 0,
    offline: false,
    resumedBytes: 0,
    problem: null,
    maxAttempts,
  }
}

export const isTerminal = (m: UploadMachine) => m.phase === 'done' || m.phase === 'failed' || m.phase === 'cancelled'

const partBytes = (f: MachineFile, index: number) => expectedPartSize(f, index + 1)

function withFile(m: UploadMachine, i: number, change: (f: MachineFile) => MachineFile): UploadMachine {
  return { ...m, files: m.files.map((f, j) => (j === i ? change(f) : f)) }
}

function withPart(m: UploadMachine, file: number, part: number, change: (p: PartState) => PartState): UploadMachine {
  return withFile(m, file, (f) => ({ ...f, parts: f.parts.map((p, j) => (j === part - 1 ? change(p) : p)) }))
}

/** After parts or files changed: the phase the upload is in now. */
function advance(m: UploadMachine): UploadMachine {
  if (m.phase !== 'uploading' && m.phase !== 'completing') return m
  const incomplete = m.files.filter((f) => !f.completed)
  if (incomplete.length === 0) return { ...m, phase: 'finalizing' }
  const allStored = incomplete.every((f) => f.parts.every((p) => p.status === 'stored'))
  return { ...m, phase: allStored ? 'completing' : 'uploading' }
}

export function reduce(m: UploadMachine, e: UploadEvent): UploadMachine {
  // Nothing moves a finished upload: late answers of aborted requests are ignored.
  if (isTerminal(m)) return m
  switch (e.type) {
    case 'stateLoaded':
      return loaded(m, e.state)
    case 'partStarted':
      if (m.phase !== 'uploading') return m
      return withPart(m, e.file, e.part, (p) => ({ ...p, status: 'sending', attempts: p.attempts + 1, loaded: 0 }))
    case 'partProgress':
      return withPart(m, e.file, e.part, (p) => (p.status === 'sending' ? { ...p, loaded: Math.max(p.loaded, e.loaded) } : p))
    case 'partStored': {
      const next = withPart(m, e.file, e.part, (p) => ({ ...p, status: 'stored', etag: e.etag, loaded: 0 }))
      return advance({ ...next, problem: next.problem?.retrying ? null : next.problem })
    }
    case 'partFailed':
      return partFailed(m, e.file, e.part, e.failure, e.at, e.random)
    case 'paused':
      return { ...m, pausedUntil: Math.max(m.pausedUntil, e.until), problem: { message: e.message, retrying: true } }
    case 'offline':
      return { ...m, offline: true, problem: { message: i18n.t('engine.offline'), retrying: true } }
    case 'online':
      return { ...m, offline: false, problem: m.problem?.retrying ? null : m.problem }
    case 'retrying':
      return { ...m, problem: { message: e.message, retrying: true } }
    case 'fileCompleted':
      return advance({ ...withFile(m, e.file, (f) => ({ ...f, completed: true })), problem: null })
    case 'finalized':
      return { ...m, phase: 'done', problem: null }
    case 'failed':
      return { ...m, phase: 'failed', problem: { message: e.message, retrying: false } }
    case 'cancelled':
      return { ...m, phase: 'cancelled' }
  }
}

/**
 * The server's view replaces ours: completed files are done, parts it holds with their exact size
 * are stored (others go back to pending), and a finalized share is done.
 */
function loaded(m: UploadMachine, state: UploadState): UploadMachine {
  if (state.status === 'finalized') return { ...m, phase: 'done', files: m.files.map((f) => ({ ...f, completed: true })), problem: null }
  let resumed = 0
  const files: MachineFile[] = []
  for (const f of m.files) {
    const known = state.files.find((s) => s.id === f.id)
    if (!known || known.size !== f.size || known.partSize !== f.partSize || known.partCount !== f.parts.length) {
      return { ...m, phase: 'failed', problem: { message: i18n.t('engine.stateMismatch'), retrying: false } }
    }
    if (known.completed) {
      resumed += f.size
      files.push({ ...f, completed: true, parts: f.parts.map((p) => ({ ...p, status: 'stored', loaded: 0 })) })
      continue
    }
    const held = new Map(known.parts.map((p) => [p.partNumber, p]))
    files.push({
      ...f,
      completed: false,
      parts: f.parts.map((p, i) => {
        const s = held.get(i + 1)
        if (s && s.size === partBytes(f, i)) {
          resumed += s.size
          return { ...p, status: 'stored', etag: s.etag, loaded: 0 }
        }
        return { ...p, status: 'pending', etag: '', loaded: 0, retryAt: 0 }
      }),
    })
  }
  const next: UploadMachine = { ...m, files, phase: 'uploading' }
  // Only the first load describes what was there before this session.
  return advance(m.phase === 'checking' ? { ...next, resumedBytes: resumed } : next)
}

function partFailed(m: UploadMachine, file: number, part: number, failure: PartFailure, at: number, random: number): UploadMachine {
  const p = m.files[file]?.parts[part - 1]
  if (!p || p.status === 'stored') return m
  if (failure.kind === 'refused') return { ...m, phase: 'failed', problem: { message: failure.message, retrying: false } }
  if (failure.kind === 'rateLimited') {
    // Not the part's fault: the attempt is given back, and every worker pauses.
    const back = withPart(m, file, part, (q) => ({ ...q, status: 'pending', loaded: 0, attempts: Math.max(0, q.attempts - 1) }))
    return { ...back, pausedUntil: Math.max(m.pausedUntil, at + failure.retryAfterMs), problem: { message: failure.message, retrying: true } }
  }
  if (m.offline && failure.kind !== 'expired') {
    // Lost to the connection going away: the attempt does not count either.
    return withPart(m, file, part, (q) => ({ ...q, status: 'pending', loaded: 0, attempts: Math.max(0, q.attempts - 1) }))
  }
  if (p.attempts >= m.maxAttempts) {
    return { ...m, phase: 'failed', problem: { message: i18n.t('engine.partFailed', { message: failure.message, part, count: p.attempts }), retrying: false } }
  }
  // An expired URL is signed again and sent at once; anything else waits for its backoff.
  const retryAt = failure.kind === 'expired' ? 0 : at + backoffMs(p.attempts, random)
  const back = withPart(m, file, part, (q) => ({ ...q, status: 'pending', loaded: 0, retryAt }))
  return { ...back, problem: failure.kind === 'expired' ? m.problem : { message: failure.message, retrying: true } }
}

// ---------------------------------------------------------------- selectors

/** The next part a worker should send, or null (nothing pending, not uploading, paused, offline). */
export function nextPart(m: UploadMachine, now: number): { file: number; part: number } | null {
  if (m.phase !== 'uploading' || m.offline || now < m.pausedUntil) return null
  for (const [i, f] of m.files.entries()) {
    if (f.completed) continue
    const j = f.parts.findIndex((p) => p.status === 'pending' && p.retryAt <= now)
    if (j >= 0) return { file: i, part: j + 1 }
  }
  return null
}

/** What a worker without a part does: go (a part may be pending), wait (until / online), or stop. */
export function workerWait(m: UploadMachine, now: number): { kind: 'go' } | { kind: 'until'; at: number } | { kind: 'online' } | { kind: 'change' } | { kind: 'stop' } {
  if (m.phase !== 'uploading') return { kind: 'stop' }
  if (m.offline) return { kind: 'online' }
  if (now < m.pausedUntil) return { kind: 'until', at: m.pausedUntil }
  if (nextPart(m, now)) return { kind: 'go' }
  const waiting = m.files.flatMap((f) => (f.completed ? [] : f.parts.filter((p) => p.status === 'pending').map((p) => p.retryAt)))
  if (waiting.length > 0) return { kind: 'until', at: Math.min(...waiting) }
  // Parts still on their way may fail and come back: wait for a change rather than quit.
  return m.files.some((f) => f.parts.some((p) => p.status === 'sending')) ? { kind: 'change' } : { kind: 'stop' }
}

/** Bytes on the server or on their way: stored parts, completed files, and what the PUTs in flight sent. */
export function uploadedBytes(m: UploadMachine): number {
  let n = 0
  for (const f of m.files) {
    if (f.completed || m.phase === 'done') {
      n += f.size
      continue
    }
    f.parts.forEach((p, i) => {
      n += p.status === 'stored' ? partBytes(f, i) : Math.min(p.loaded, partBytes(f, i))
    })
  }
  return n
}

export function fileUploadedBytes(m: UploadMachine, i: number): number {
  const f = m.files[i]!
  if (f.completed || m.phase === 'done') return f.size
  return f.parts.reduce((n, p, j) => n + (p.status === 'stored' ? partBytes(f, j) : Math.min(p.loaded, partBytes(f, j))), 0)
}

export const totalBytes = (m: UploadMachine) => m.files.reduce((n, f) => n + f.size, 0)

/** Files to complete now, in order, with the ETags of their parts. */
export function filesToComplete(m: UploadMachine): { file: number; parts: { partNumber: number; etag: string }[] }[] {
  if (m.phase !== 'completing') return []
  return m.files.flatMap((f, i) => (f.completed ? [] : [{ file: i, parts: f.parts.map((p, j) => ({ partNumber: j + 1, etag: p.etag })) }]))
}

/**
 * How long to wait before attempt `attempt + 1`: exponential (0.5 s, 1 s, 2 s … at most 8 s) with
 * jitter, so the parts (and the browsers) that failed together do not all retry at the same moment.
 */
export function backoffMs(attempt: number, random: number): number {
  const base = Math.min(8000, 500 * 2 ** Math.max(0, attempt - 1))
  return Math.round(base * (0.5 + 0.5 * random))
}
