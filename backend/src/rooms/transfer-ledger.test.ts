import { describe, expect, it } from 'vitest'
import { TransferLedger } from './transfer-ledger'

const started = { id: 'transfer-1', bytes: 1000, files: 2 }
const report = { id: 'transfer-1', bytes: 1000, files: 2, ms: 50, status: 'completed' as const }

describe('transfer reports are bounded by what was announced', () => {
  it('a report of an announced transfer is settled once, without its id', () => {
    const ledger = new TransferLedger()
    ledger.start('room', started)
    expect(ledger.size).toBe(1)
    expect(ledger.settle('room', report)).toEqual({ bytes: 1000, files: 2, ms: 50, status: 'completed' })
    expect(ledger.size).toBe(0)
    expect(() => ledger.settle('room', report)).toThrow(expect.objectContaining({ code: 'forbidden' }))
  })

  it('claiming more bytes or files than offered is refused, and the transfer stays open for an honest report', () => {
    const ledger = new TransferLedger()
    ledger.start('room', started)
    expect(() => ledger.settle('room', { ...report, bytes: 2 ** 53 - 1 })).toThrow(expect.objectContaining({ code: 'invalid_input' }))
    expect(() => ledger.settle('room', { ...report, files: 3 })).toThrow(expect.objectContaining({ code: 'invalid_input' }))
    expect(ledger.settle('room', { ...report, bytes: 10, status: 'cancelled' }).bytes).toBe(10)
  })

  it('a transfer never announced, or announced in another room, cannot be reported', () => {
    const ledger = new TransferLedger()
    expect(() => ledger.settle('room', report)).toThrow(expect.objectContaining({ code: 'forbidden' }))
    ledger.start('room-a', started)
    expect(() => ledger.settle('room-b', report)).toThrow(expect.objectContaining({ code: 'forbidden' }))
    // Announcing in the next room drops what was left unreported in the first.
    ledger.start('room-b', { ...started, id: 'transfer-2' })
    expect(ledger.size).toBe(1)
    expect(() => ledger.settle('room-a', report)).toThrow(expect.objectContaining({ code: 'forbidden' }))
  })

  it('one id is announced once, and only so many transfers are open at a time', () => {
    const ledger = new TransferLedger(2)
    ledger.start('room', started)
    expect(() => ledger.start('room', started)).toThrow(expect.objectContaining({ code: 'conflict' }))
    ledger.start('room', { ...started, id: 'transfer-2' })
    expect(() => ledger.start('room', { ...started, id: 'transfer-3' })).toThrow(expect.objectContaining({ code: 'rate_limited' }))
  })
})
