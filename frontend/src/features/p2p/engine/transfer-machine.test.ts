import type { PeerFile, PeerMessage } from '@sharesync/protocol'
import { describe, expect, it } from 'vitest'
import { FINISHING_TIMEOUT_MS, bytesBefore, newIncoming, newOutgoing, restored, transition, type Effect, type TransferEvent, type TransferState } from './transfer-machine'

const files: PeerFile[] = [
  { id: '0', name: 'a.bin', size: 1000, type: 'application/octet-stream' },
  { id: '1', name: 'b.bin', size: 500, type: 'application/octet-stream' },
]
const ID = 'abcdef012345'

function run(state: TransferState, ...events: TransferEvent[]): { state: TransferState; effects: Effect[] } {
  let effects: Effect[] = []
  for (const e of events) {
    const r = transition(state, e)
    state = r.state
    effects = r.effects
  }
  return { state, effects }
}

const msg = (m: PeerMessage): TransferEvent => ({ type: 'message', msg: m })
const sent = (effects: Effect[]) => effects.flatMap((e) => (e.type === 'send' ? [e.msg] : []))
const incoming = () => newIncoming(ID, 'peer-a', 'Alice', files)
const outgoing = () => newOutgoing(ID, 'peer-b', 'Bob', files)

describe('receiver', () => {
  it('accepting opens the sink, and the sink answers where to start: that position goes to the sender', () => {
    const a = run(incoming(), { type: 'accept-clicked', pick: false })
    expect(a.state.phase).toBe('active')
    expect(a.effects).toContainEqual({ type: 'open-sink', pick: false })
    const b = run(a.state, { type: 'sink-ready', at: { file: 0, offset: 0 }, resumable: true })
    expect(sent(b.effects)).toEqual([{ t: 'accept', id: ID, at: { file: 0, offset: 0 } }])
    expect(b.effects).toContainEqual({ type: 'persist' })
  })

  it('a cancel from the sender while the folder picker is open stays a cancel when the picker closes with a folder', () => {
    const picking = run(incoming(), { type: 'accept-clicked', pick: true })
    expect(picking.state.phase).toBe('picking')
    const cancelled = run(picking.state, msg({ t: 'cancel', id: ID, reason: 'cancelled' }))
    expect(cancelled.state.phase).toBe('cancelled')
    const after = run(cancelled.state, { type: 'picker-closed', picked: true })
    expect(after.state.phase).toBe('cancelled')
    expect(after.effects).toEqual([])
  })

  it('dismissing the folder picker leaves the offer open', () => {
    const r = run(incoming(), { type: 'accept-clicked', pick: true }, { type: 'picker-closed', picked: false })
    expect(r.state.phase).toBe('offered')
    expect(r.effects).toEqual([])
  })

  it('a picked folder opens the sink for it', () => {
    const r = run(incoming(), { type: 'accept-clicked', pick: true }, { type: 'picker-closed', picked: true })
    expect(r.state.phase).toBe('active')
    expect(r.effects).toContainEqual({ type: 'open-sink', pick: true })
  })

  it('a damaged file fails the transfer, tells the sender, and deletes the partial file', () => {
    const active = run(incoming(), { type: 'accept-clicked', pick: false }).state
    const r = run(active, { type: 'file-checked', file: 0, ok: false })
    expect(r.state.phase).toBe('failed')
    expect(r.state.message).toContain('a.bin arrived damaged')
    expect(sent(r.effects)).toEqual([
      { t: 'verified', id: ID, file: 0, ok: false },
      { t: 'cancel', id: ID, reason: 'damaged' },
    ])
    expect(r.effects).toContainEqual({ type: 'stop', discard: true })
    expect(r.effects).toContainEqual({ type: 'forget' })
  })

  it('a dropped link interrupts without deleting anything; the link back reopens the sink at its position', () => {
    const active = run(incoming(), { type: 'accept-clicked', pick: false }, { type: 'sink-ready', at: { file: 0, offset: 0 }, resumable: true }, { type: 'written', at: { file: 0, offset: 600 } }).state
    const down = run(active, { type: 'link-down', why: 'lost' })
    expect(down.state.phase).toBe('interrupted')
    expect(down.effects).toContainEqual({ type: 'stop', discard: false })
    expect(down.effects).toContainEqual({ type: 'timer', name: 'give-up', ms: expect.any(Number) })
    const up = run(down.state, { type: 'link-up' })
    expect(up.state.phase).toBe('active')
    expect(up.effects).toContainEqual({ type: 'open-sink', pick: false })
    expect(up.state.resumes).toBe(1)
  })

  it('an offer not yet accepted fails when its sender goes', () => {
    expect(run(incoming(), { type: 'link-down', why: 'left' }).state.phase).toBe('failed')
  })

  it('after a reload the transfer waits, interrupted, and resumes when the sender says so', () => {
    const r = restored({ id: ID, direction: 'receive', peerId: 'peer-a', peerName: 'Alice', files, at: { file: 1, offset: 100 } })
    expect(r.phase).toBe('interrupted')
    const resumed = run(r, msg({ t: 'resume', id: ID }))
    expect(resumed.state.phase).toBe('active')
    expect(resumed.effects).toContainEqual({ type: 'open-sink', pick: false })
  })

  it('an interruption that lasts too long fails and deletes the partial file', () => {
    const down = run(incoming(), { type: 'accept-clicked', pick: false }, { type: 'sink-ready', at: { file: 0, offset: 0 }, resumable: true }, { type: 'link-down', why: 'lost' }).state
    expect(down.phase).toBe('interrupted')
    const r = run(down, { type: 'gave-up' })
    expect(r.state.phase).toBe('failed')
    expect(r.effects).toContainEqual({ type: 'stop', discard: true })
  })

  it('declining answers the sender; nothing moves after a final phase', () => {
    const r = run(incoming(), { type: 'decline-clicked' })
    expect(r.state.phase).toBe('declined')
    expect(sent(r.effects)).toEqual([{ t: 'decline', id: ID }])
    expect(run(r.state, { type: 'accept-clicked', pick: false }).effects).toEqual([])
  })
})

describe('sender', () => {
  it("the receiver's accept starts the pump at its position; sent-all waits for the verdict with a timeout", () => {
    const a = run(outgoing(), msg({ t: 'accept', id: ID, at: { file: 0, offset: 0 } }))
    expect(a.state.phase).toBe('active')
    expect(a.effects).toContainEqual({ type: 'pump', at: { file: 0, offset: 0 } })
    const b = run(a.state, { type: 'sent-all' })
    expect(b.state.phase).toBe('finishing')
    expect(b.effects).toContainEqual({ type: 'timer', name: 'finishing', ms: FINISHING_TIMEOUT_MS })
    const c = run(b.state, msg({ t: 'complete', id: ID }))
    expect(c.state.phase).toBe('completed')
    expect(c.effects).toContainEqual({ type: 'report' })
    expect(c.effects).toContainEqual({ type: 'clear-timer', name: 'finishing' })
  })

  it('a receiver that never confirms fails the finishing phase after its timeout, and is told so', () => {
    const finishing = run(outgoing(), msg({ t: 'accept', id: ID, at: { file: 0, offset: 0 } }), { type: 'sent-all' }).state
    const r = run(finishing, { type: 'finishing-timeout' })
    expect(r.state.phase).toBe('failed')
    expect(r.state.message).toContain('did not confirm')
    expect(sent(r.effects)).toEqual([{ t: 'cancel', id: ID, reason: 'sender-error' }])
  })

  it('a late finishing timeout after completion changes nothing', () => {
    const done = run(outgoing(), msg({ t: 'accept', id: ID, at: { file: 0, offset: 0 } }), { type: 'sent-all' }, msg({ t: 'complete', id: ID })).state
    expect(run(done, { type: 'finishing-timeout' }).state.phase).toBe('completed')
  })

  it('an accept for a position outside the files fails instead of sending garbage', () => {
    const r = run(outgoing(), msg({ t: 'accept', id: ID, at: { file: 0, offset: 5000 } }))
    expect(r.state.phase).toBe('failed')
    expect(run(outgoing(), msg({ t: 'accept', id: ID, at: { file: 7, offset: 0 } })).state.phase).toBe('failed')
  })

  it('a dropped link interrupts; the link back asks the receiver to resume; its accept restarts the pump there', () => {
    const active = run(outgoing(), msg({ t: 'accept', id: ID, at: { file: 0, offset: 0 } })).state
    const down = run(active, { type: 'link-down', why: 'lost' })
    expect(down.state.phase).toBe('interrupted')
    const up = run(down.state, { type: 'link-up' })
    expect(sent(up.effects)).toEqual([{ t: 'resume', id: ID }])
    const again = run(up.state, msg({ t: 'accept', id: ID, at: { file: 1, offset: 200 } }))
    expect(again.state.phase).toBe('active')
    expect(again.effects).toContainEqual({ type: 'pump', at: { file: 1, offset: 200 } })
    expect(again.state.resumes).toBe(1)
  })

  it('after a reload the sender needs the files again before it asks to resume', () => {
    const r = restored({ id: ID, direction: 'send', peerId: 'peer-b', peerName: 'Bob', files, at: { file: 0, offset: 0 } })
    expect(r.needsFiles).toBe(true)
    expect(sent(run(r, { type: 'link-up' }).effects)).toEqual([])
    // An accept before the files are back is not acted on.
    expect(run(r, msg({ t: 'accept', id: ID, at: { file: 0, offset: 10 } })).effects).toEqual([])
    const picked = run(r, { type: 'files-picked-again' })
    expect(picked.state.needsFiles).toBe(false)
    expect(sent(picked.effects)).toEqual([{ t: 'resume', id: ID }])
  })

  it('the same accept twice (a resume crossed an accept) pumps once', () => {
    const active = run(outgoing(), msg({ t: 'accept', id: ID, at: { file: 0, offset: 100 } })).state
    expect(run(active, msg({ t: 'accept', id: ID, at: { file: 0, offset: 100 } })).effects).toEqual([])
  })

  it('an offer still waiting for a connecting link goes out when the link is up', () => {
    expect(sent(run(outgoing(), { type: 'link-up' }).effects)).toEqual([{ t: 'offer', id: ID, files }])
  })

  it('a damaged-file verdict and a cancel by the receiver end the transfer with their own words', () => {
    const active = run(outgoing(), msg({ t: 'accept', id: ID, at: { file: 0, offset: 0 } })).state
    expect(run(active, msg({ t: 'verified', id: ID, file: 0, ok: false })).state.message).toContain('damaged')
    expect(run(active, msg({ t: 'cancel', id: ID, reason: 'cancelled' })).state.message).toBe('Bob cancelled.')
    expect(run(active, msg({ t: 'cancel', id: ID })).state.phase).toBe('cancelled')
  })

  it('the person cancelling tells the other side and discards', () => {
    const r = run(outgoing(), { type: 'cancel-clicked' })
    expect(r.state.phase).toBe('cancelled')
    expect(sent(r.effects)).toEqual([{ t: 'cancel', id: ID, reason: 'cancelled' }])
    expect(r.effects).toContainEqual({ type: 'report' })
  })
})

describe('positions', () => {
  it('bytes before a position are the complete files plus the offset', () => {
    expect(bytesBefore(files, { file: 0, offset: 10 })).toBe(10)
    expect(bytesBefore(files, { file: 1, offset: 10 })).toBe(1010)
    expect(bytesBefore(files, { file: 2, offset: 0 })).toBe(1500)
  })
})
