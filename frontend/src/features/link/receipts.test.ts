import { describe, expect, it } from 'vitest'
import type { TransferView } from '../p2p/engine/room-session'
import { receiptPercent, receiptsOf } from './receipts'

function transfer(id: string, over: Partial<TransferView> = {}): TransferView {
  return {
    id,
    direction: 'send',
    peerId: `p-${id}`,
    peerName: 'Pixel 8 · Chrome',
    files: [{ id: '0', name: 'a.bin', size: 1000, type: 'application/octet-stream' }],
    phase: 'active',
    message: null,
    at: { file: 0, offset: 0 },
    needsFiles: false,
    resumable: false,
    resumes: 0,
    progress: { bytes: 400, total: 1000, speed: 0, eta: Infinity },
    received: [],
    memoryWarning: false,
    path: 'direct',
    ...over,
  }
}

describe('delivery receipts on the sender page', () => {
  it('shows one receipt per claimed transfer with its device, path and progress, and ignores other transfers', () => {
    const got = receiptsOf([transfer('a'), transfer('b', { path: 'relay', peerName: '' }), transfer('c')], new Set(['a', 'b']), [], 'someone')
    expect(got).toEqual([
      { id: 'a', who: 'Pixel 8 · Chrome', path: 'direct', bytes: 400, totalBytes: 1000, status: 'active' },
      { id: 'b', who: 'someone', path: 'relay', bytes: 400, totalBytes: 1000, status: 'active' },
    ])
  })

  it('a completed transfer reads 100 % done, a failed or cancelled one failed; TURN counts as direct', () => {
    const [done, failed, cancelled] = receiptsOf(
      [transfer('a', { phase: 'completed', progress: { bytes: 990, total: 1000, speed: 0, eta: 0 }, path: 'turn' }), transfer('b', { phase: 'failed' }), transfer('c', { phase: 'cancelled' })],
      new Set(['a', 'b', 'c']),
      [],
      'someone',
    )
    expect(done).toMatchObject({ status: 'done', bytes: 1000, path: 'direct' })
    expect(receiptPercent(done!)).toBe(100)
    expect(failed!.status).toBe('failed')
    expect(cancelled!.status).toBe('failed')
  })

  it('lists the cloud downloads after the direct ones, naming an unknown device "someone"', () => {
    const got = receiptsOf([transfer('a')], new Set(['a']), [{ id: 'r1', who: ' ', path: 'cloud', bytes: 5, totalBytes: 10, status: 'active' }], 'someone')
    expect(got.map((r) => [r.id, r.who, r.path])).toEqual([
      ['a', 'Pixel 8 · Chrome', 'direct'],
      ['r1', 'someone', 'cloud'],
    ])
  })

  it('never shows 100 % before a download is done, nor more than its bytes', () => {
    expect(receiptPercent({ id: 'x', who: 'a', path: 'cloud', bytes: 999, totalBytes: 1000, status: 'active' })).toBe(99)
    expect(receiptPercent({ id: 'x', who: 'a', path: 'cloud', bytes: 0, totalBytes: 0, status: 'active' })).toBe(0)
    expect(receiptPercent({ id: 'x', who: 'a', path: 'cloud', bytes: 5000, totalBytes: 1000, status: 'failed' })).toBe(99)
  })
})
