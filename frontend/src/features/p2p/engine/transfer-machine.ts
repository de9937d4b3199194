import { i18n } from '../../../i18n'
import type { PeerFile, PeerMessage, Position } from '@sharesync/protocol'

/**
 * One transfer's life, as a pure reducer: `transition(state, event)` answers the next state and the
 * effects the session must carry out (messages to the peer, starting or stopping the byte pump,
 * timers, checkpoints). No I/O here, so every rule has a unit test that runs in microseconds.
 *
 * Phases:
 *   receiver: offered → (picking →) active → completed
 *   sender:   waiting → active → finishing → completed
 *   both:     active/finishing ⇄ interrupted (the link dropped; resumes from the receiver's position)
 *   final:    completed | declined | cancelled | failed
 */

export type TransferPhase = 'offered' | 'picking' | 'waiting' | 'active' | 'interrupted' | 'finishing' | 'completed' | 'declined' | 'cancelled' | 'failed'
export type Direction = 'send' | 'receive'

export interface TransferState {
  id: string
  direction: Direction
  peerId: string
  peerName: string
  files: PeerFile[]
  phase: TransferPhase
  message: string | null
  /** receiver: where the bytes on disk end; sender: where the receiver asked to start */
  at: Position
  /** sender after a reload: the person must pick the same files again */
  needsFiles: boolean
  /** receiver: its sink keeps partial files across an interruption (OPFS) */
  resumable: boolean
  /** how often the transfer was picked up again after an interruption */
  resumes: number
}

export type TransferEvent =
  | { type: 'accept-clicked'; pick: boolean }
  | { type: 'picker-closed'; picked: boolean }
  | { type: 'decline-clicked' }
  | { type: 'cancel-clicked' }
  | { type: 'message'; msg: PeerMessage }
  | { type: 'link-up' }
  | { type: 'link-down'; why: 'lost' | 'left' }
  | { type: 'files-picked-again' }
  | { type: 'sink-ready'; at: Position; resumable: boolean }
  | { type: 'written'; at: Position }
  | { type: 'file-checked'; file: number; ok: boolean }
  | { type: 'all-received' }
  | { type: 'sent-all' }
  | { type: 'finishing-timeout' }
  | { type: 'gave-up' }
  | { type: 'error'; message: string }

export type Effect =
  | { type: 'send'; msg: PeerMessage }
  /** receiver: open (or reopen) the sink; answers with 'sink-ready' */
  | { type: 'open-sink'; pick: boolean }
  /** sender: (re)start the byte pump at a position */
  | { type: 'pump'; at: Position }
  /** stop moving bytes; `discard` deletes partial files (never on an interruption) */
  | { type: 'stop'; discard: boolean }
  | { type: 'timer'; name: 'finishing' | 'give-up'; ms: number }
  | { type: 'clear-timer'; name: 'finishing' | 'give-up' }
  | { type: 'persist' }
  | { type: 'forget' }
  /** statistics for the admin dashboard, once per outgoing transfer */
  | { type: 'report' }

export interface Result {
  state: TransferState
  effects: Effect[]
}

export const FINISHING_TIMEOUT_MS = 60_000
/** An interrupted transfer waits this long for both devices to be back before it fails. */
export const GIVE_UP_MS = 15 * 60_000

const START: Position = { file: 0, offset: 0 }

export function isFinal(phase: TransferPhase): boolean {
  return phase === 'completed' || phase === 'declined' || phase === 'cancelled' || phase === 'failed'
}

export function isMoving(phase: TransferPhase): boolean {
  return phase === 'active' || phase === 'finishing'
}

export function newOutgoing(id: string, peerId: string, peerName: string, files: PeerFile[]): TransferState {
  return { id, direction: 'send', peerId, peerName, files, phase: 'waiting', message: null, at: START, needsFiles: false, resumable: true, resumes: 0 }
}

export function newIncoming(id: string, peerId: string, peerName: string, files: PeerFile[]): TransferState {
  return { id, direction: 'receive', peerId, peerName, files, phase: 'offered', message: null, at: START, needsFiles: false, resumable: false, resumes: 0 }
}

/** A transfer read back from its checkpoint after a reload: interrupted, waiting for the link. */
export function restored(saved: Pick<TransferState, 'id' | 'direction' | 'peerId' | 'peerName' | 'files' | 'at'>): TransferState {
  const sender = saved.direction === 'send'
  return {
    ...saved,
    phase: 'interrupted',
    message: sender ? i18n.t('engine.reloaded') : i18n.t('engine.waitingFor', { name: saved.peerName }),
    needsFiles: sender,
    resumable: true,
    resumes: 0,
  }
}

/** Bytes already confirmed before `at`: the sizes of the complete files plus the offset. */
export function bytesBefore(files: PeerFile[], at: Position): number {
  let n = 0
  for (let i = 0; i < at.file && i < files.length; i++) n += files[i]!.size
  return n + at.offset
}

export function transition(s: TransferState, e: TransferEvent): Result {
  if (isFinal(s.phase)) return { state: s, effects: [] }
  const send = s.direction === 'send'
  const to = (phase: TransferPhase, message: string | null, effects: Effect[] = [], extra: Partial<TransferState> = {}): Result => {
    const state = { ...s, ...extra, phase, message }
    if (isFinal(phase)) {
      effects = [...effects, { type: 'clear-timer', name: 'finishing' }, { type: 'clear-timer', name: 'give-up' }, { type: 'forget' }]
      if (send) effects.push({ type: 'report' })
    }
    return { state, effects }
  }
  const stay = (effects: Effect[] = []): Result => ({ state: s, effects })
  const cancelled = (by: 'self' | 'peer'): Result =>
    to('cancelled', by === 'self' ? 'You cancelled.' : `${s.peerName} cancelled.`, [
      ...(by === 'self' ? [{ type: 'send', msg: { t: 'cancel', id: s.id, reason: 'cancelled' } } as Effect] : []),
      { type: 'stop', discard: true },
    ])

  switch (e.type) {
    case 'accept-clicked':
      if (send || s.phase !== 'offered') return stay()
      return e.pick ? to('picking', null) : to('active', null, [{ type: 'open-sink', pick: false }])

    case 'picker-closed':
      // The person may have cancelled (or the sender may have) while the picker was open.
      if (s.phase !== 'picking') return stay()
      return e.picked ? to('active', null, [{ type: 'open-sink', pick: true }]) : to('offered', null)

    case 'decline-clicked':
      if (send || (s.phase !== 'offered' && s.phase !== 'picking')) return stay()
      return to('declined', 'You declined.', [{ type: 'send', msg: { t: 'decline', id: s.id } }])

    case 'cancel-clicked':
      return cancelled('self')

    case 'sink-ready': {
      if (send || s.phase !== 'active') return stay()
      const state = { ...s, at: e.at, resumable: e.resumable }
      return { state, effects: [{ type: 'send', msg: { t: 'accept', id: s.id, at: e.at } }, { type: 'persist' }] }
    }

    case 'written':
      if (send) return stay()
      return { state: { ...s, at: e.at }, effects: [] }

    case 'file-checked':
      if (send) return stay()
      if (e.ok) return stay([{ type: 'send', msg: { t: 'verified', id: s.id, file: e.file, ok: true } }])
      return to('failed', `${s.files[e.file]?.name ?? 'A file'} arrived damaged (its SHA-256 does not match). Please send it again.`, [
        { type: 'send', msg: { t: 'verified', id: s.id, file: e.file, ok: false } },
        { type: 'send', msg: { t: 'cancel', id: s.id, reason: 'damaged' } },
        { type: 'stop', discard: true },
      ])

    case 'all-received':
      if (send || s.phase !== 'active') return stay()
      return to('completed', null, [{ type: 'send', msg: { t: 'complete', id: s.id } }, { type: 'stop', discard: false }], { at: { file: s.files.length, offset: 0 } })

    case 'sent-all':
      if (!send || s.phase !== 'active') return stay()
      return to('finishing', `Waiting for ${s.peerName} to check the files…`, [{ type: 'timer', name: 'finishing', ms: FINISHING_TIMEOUT_MS }])

    case 'finishing-timeout':
      if (s.phase !== 'finishing') return stay()
      return to('failed', `${s.peerName} did not confirm the files in time; they may be incomplete there.`, [
        { type: 'send', msg: { t: 'cancel', id: s.id, reason: 'sender-error' } },
        { type: 'stop', discard: true },
      ])

    case 'link-down': {
      if (s.phase === 'offered' || s.phase === 'picking' || (send && s.phase === 'waiting' && s.resumes === 0 && !s.needsFiles)) {
        return to('failed', `${s.peerName} ${e.why === 'left' ? 'left the room' : 'is no longer connected'}; the transfer stopped.`, [{ type: 'stop', discard: true }])
      }
      if (s.phase === 'interrupted') return stay()
      if (!send && !s.resumable) {
        return to('failed', i18n.t('engine.lostStopped', { name: s.peerName }), [{ type: 'stop', discard: true }])
      }
      return to('interrupted', i18n.t('engine.lostResumes', { name: s.peerName }), [
        { type: 'stop', discard: false },
        { type: 'clear-timer', name: 'finishing' },
        { type: 'timer', name: 'give-up', ms: GIVE_UP_MS },
      ])
    }

    case 'link-up':
      if (s.phase !== 'interrupted') {
        // A sender whose offer waited for the link: it goes out now.
        if (send && s.phase === 'waiting') return stay([{ type: 'send', msg: { t: 'offer', id: s.id, files: s.files } }])
        return stay()
      }
      if (send) return s.needsFiles ? stay() : stay([{ type: 'send', msg: { t: 'resume', id: s.id } }])
      // The receiver knows where it stands: reopening the sink answers with 'accept' at that position.
      return to('active', null, [{ type: 'clear-timer', name: 'give-up' }, { type: 'open-sink', pick: false }], { resumes: s.resumes + 1 })

    case 'files-picked-again':
      if (!send || !s.needsFiles) return stay()
      return { state: { ...s, needsFiles: false, message: i18n.t('engine.waitingFor', { name: s.peerName }) }, effects: [{ type: 'send', msg: { t: 'resume', id: s.id } }, { type: 'persist' }] }

    case 'gave-up':
      if (s.phase !== 'interrupted') return stay()
      return to('failed', `${s.peerName} did not come back; the transfer stopped.`, [{ type: 'stop', discard: true }])

    case 'error':
      return to('failed', e.message, [{ type: 'send', msg: { t: 'cancel', id: s.id, reason: send ? 'sender-error' : 'receiver-error' } }, { type: 'stop', discard: true }])

    case 'message':
      return onMessage(s, e.msg, to, stay, cancelled)
  }
}

function onMessage(
  s: TransferState,
  msg: PeerMessage,
  to: (phase: TransferPhase, message: string | null, effects?: Effect[], extra?: Partial<TransferState>) => Result,
  stay: (effects?: Effect[]) => Result,
  cancelled: (by: 'self' | 'peer') => Result,
): Result {
  const send = s.direction === 'send'
  switch (msg.t) {
    case 'accept': {
      if (!send || s.needsFiles) return stay()
      if (s.phase !== 'waiting' && s.phase !== 'active' && s.phase !== 'interrupted' && s.phase !== 'finishing') return stay()
      // The same position again while it is being sent (a resume crossed an accept): nothing new.
      if (s.phase === 'active' && msg.at.file === s.at.file && msg.at.offset === s.at.offset) return stay()
      if (!validPosition(s.files, msg.at)) return to('failed', `${s.peerName} asked for a part of the files that does not exist.`, [{ type: 'send', msg: { t: 'cancel', id: s.id, reason: 'sender-error' } }, { type: 'stop', discard: true }])
      const resumed = s.phase !== 'waiting'
      return to('active', null, [{ type: 'clear-timer', name: 'give-up' }, { type: 'clear-timer', name: 'finishing' }, { type: 'pump', at: msg.at }, { type: 'persist' }], {
        at: msg.at,
        resumes: s.resumes + (resumed ? 1 : 0),
      })
    }
    case 'resume':
      // The sender is back: the receiver answers with its position (by reopening its sink).
      if (send) return stay()
      if (s.phase === 'interrupted') return to('active', null, [{ type: 'clear-timer', name: 'give-up' }, { type: 'open-sink', pick: false }], { resumes: s.resumes + 1 })
      // Already taking bytes: the sink settles and answers its exact position (not a stale one).
      if (s.phase === 'active') return stay([{ type: 'open-sink', pick: false }])
      return stay()
    case 'decline':
      if (!send) return stay()
      return to('declined', `${s.peerName} declined.`, [{ type: 'stop', discard: true }])
    case 'cancel':
      if (msg.reason === 'damaged') return to('failed', `${s.peerName} received a damaged file.`, [{ type: 'stop', discard: true }])
      if (msg.reason === 'receiver-error' || msg.reason === 'sender-error') return to('failed', `${s.peerName} could not go on with the transfer.`, [{ type: 'stop', discard: true }])
      return cancelled('peer')
    case 'verified':
      if (!send || msg.ok) return stay()
      return to('failed', `${s.peerName} received a damaged file.`, [{ type: 'stop', discard: true }])
    case 'complete':
      if (!send || (s.phase !== 'active' && s.phase !== 'finishing')) return stay()
      return to('completed', null, [{ type: 'stop', discard: false }], { at: { file: s.files.length, offset: 0 } })
    case 'offer':
    case 'hello':
    case 'bye':
      return stay()
  }
}

export function validPosition(files: PeerFile[], at: Position): boolean {
  if (at.file === files.length) return at.offset === 0
  const f = files[at.file]
  return f !== undefined && at.offset <= f.size
}
