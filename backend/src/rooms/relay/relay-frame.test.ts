import { describe, expect, it } from 'vitest'
import { decodeFrame, encodeFrame, type RelayFrame } from './relay-frame'

describe('relay bus frames', () => {
  it('carry binary and text messages, acks, opens and closes unchanged', () => {
    const frames: RelayFrame[] = [
      { type: 'data', id: 'relay-id-123', seq: 7, data: Buffer.from([0, 1, 2, 255]) },
      { type: 'data', id: 'relay-id-123', seq: 4_000_000_000, data: 'eof ✓ 📁' },
      { type: 'data', id: 'r', seq: 0, data: Buffer.alloc(0) },
      { type: 'ack', id: 'relay-id-123', seq: 9 },
      { type: 'open', id: 'relay-id-123', open: { from: 'p1', fromInstance: 'i1', to: 'p2', roomId: 'room', bytes: 1234 } },
      { type: 'close', id: 'relay-id-123', reason: 'stalled' },
    ]
    for (const f of frames) expect(decodeFrame(encodeFrame(f))).toEqual(f)
  })

  it('a binary payload is not copied on the way in', () => {
    const payload = Buffer.alloc(256 * 1024, 7)
    const decoded = decodeFrame(encodeFrame({ type: 'data', id: 'x', seq: 1, data: payload }))
    expect(decoded?.type === 'data' && Buffer.isBuffer(decoded.data) && decoded.data.equals(payload)).toBe(true)
  })

  it('garbage decodes to nothing', () => {
    for (const bad of [Buffer.alloc(0), Buffer.from([9, 1, 65, 0, 0, 0, 0, 0]), Buffer.from([0, 200, 1]), Buffer.from([0, 1, 65, 0, 0, 0, 0, 2, 123])]) expect(decodeFrame(bad)).toBeNull()
  })
})
