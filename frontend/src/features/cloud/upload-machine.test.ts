import type { UploadState } from '@sharesync/protocol'
import { describe, expect, it } from 'vitest'
import { backoffMs, filesToComplete, initialMachine, nextPart, reduce, uploadedBytes, workerWait, type UploadEvent, type UploadMachine } from './upload-machine'

const MiB = 2 ** 20
const A = 'A'.repeat(22)
const B = 'B'.repeat(22)
// File A: 12 MiB in three 5 MiB parts (the last 2 MiB); file B: 1 MiB in one part.
const local = [
  { id: A, size: 12 * MiB, partSize: 5 * MiB, partCount: 3 },
  { id: B, size: MiB, partSize: 5 * MiB, partCount: 1 },
]
const state = (files: UploadState['files'], status: UploadState['status'] = 'uploading'): UploadState => ({ id: 'S'.repeat(22), status, files })
const serverFile = (i: number, completed = false, parts: { partNumber: number; size: number; etag?: string }[] = []) => ({
  id: local[i]!.id,
  size: local[i]!.size,
  partSize: local[i]!.partSize,
  partCount: local[i]!.partCount,
  completed,
  parts: parts.map((p) => ({ etag: `"e${p.partNumber}"`, ...p })),
})
const run = (events: UploadEvent[], from: UploadMachine = initialMachine(local)) => events.reduce(reduce, from)
const fresh = () => run([{ type: 'stateLoaded', state: state([serverFile(0), serverFile(1)]) }])
const failed = (file: number, part: number, failure: Extract<UploadEvent, { type: 'partFailed' }>['failure'], at = 1000, random = 0.5): UploadEvent => ({
  type: 'partFailed',
  file,
  part,
  failure,
  at,
  random,
})
const network = { kind: 'network' as const, message: 'Connection lost, retrying…' }

describe('upload machine: resuming from the server', () => {
  it('parts the server holds with their exact size count as stored, short ones are sent again, and resumedBytes is what it held', () => {
    const m = run([{ type: 'stateLoaded', state: state([serverFile(0, false, [{ partNumber: 1, size: 5 * MiB }, { partNumber: 2, size: 3 * MiB }]), serverFile(1, true)]) }])
    expect(m.phase).toBe('uploading')
    expect(m.files[0]!.parts.map((p) => p.status)).toEqual(['stored', 'pending', 'pending'])
    expect(m.files[0]!.parts[0]!.etag).toBe('"e1"')
    expect(m.files[1]!.completed).toBe(true)
    expect(m.resumedBytes).toBe(5 * MiB + MiB)
    expect(uploadedBytes(m)).toBe(6 * MiB)
    expect(nextPart(m, 0)).toEqual({ file: 0, part: 2 })
  })

  it('a finalized share is done at once, and no other sequence of events reaches done', () => {
    expect(run([{ type: 'stateLoaded', state: state([serverFile(0, true), serverFile(1, true)], 'finalized') }]).phase).toBe('done')
    // Everything short of "finalized": parts stored, files completed, errors, pauses. Never done.
    let m = fresh()
    const events: UploadEvent[] = [
      ...[1, 2, 3].map((part) => ({ type: 'partStored' as const, file: 0, part, etag: `"${part}"` })),
      { type: 'partStored', file: 1, part: 1, etag: '"b"' },
      { type: 'fileCompleted', file: 0 },
      { type: 'fileCompleted', file: 1 },
      { type: 'paused', until: 5000, message: 'slow down' },
      { type: 'retrying', message: 'again' },
      { type: 'offline' },
      { type: 'online' },
    ]
    for (const e of events) {
      m = reduce(m, e)
      expect(m.phase, e.type).not.toBe('done')
    }
    expect(m.phase).toBe('finalizing')
    expect(reduce(m, { type: 'finalized' }).phase).toBe('done')
  })

  it('a server state that does not describe these files fails instead of uploading into the wrong file', () => {
    const other = { ...serverFile(0), size: 99 }
    expect(run([{ type: 'stateLoaded', state: state([other, serverFile(1)]) }]).phase).toBe('failed')
    expect(run([{ type: 'stateLoaded', state: state([serverFile(1)]) }]).phase).toBe('failed')
  })

  it('a resync after completion trouble sends again what the server lacks, without changing what this session resumed from', () => {
    let m = fresh()
    for (const part of [1, 2, 3]) m = reduce(m, { type: 'partStored', file: 0, part, etag: `"${part}"` })
    m = reduce(m, { type: 'partStored', file: 1, part: 1, etag: '"b"' })
    expect(m.phase).toBe('completing')
    expect(filesToComplete(m).map((f) => f.parts.map((p) => p.etag))).toEqual([['"1"', '"2"', '"3"'], ['"b"']])
    // The server lost part 2 (or holds other bytes): back to uploading that part only.
    m = reduce(m, { type: 'stateLoaded', state: state([serverFile(0, false, [{ partNumber: 1, size: 5 * MiB }, { partNumber: 3, size: 2 * MiB }]), serverFile(1, true)]) })
    expect(m.phase).toBe('uploading')
    expect(m.resumedBytes).toBe(0)
    expect(nextPart(m, 0)).toEqual({ file: 0, part: 2 })
  })
})

describe('upload machine: failures, retries and pauses', () => {
  it('a refused part fails the upload, and afterwards no worker gets another part', () => {
    let m = reduce(fresh(), { type: 'partStarted', file: 0, part: 1 })
    m = reduce(m, { type: 'partStarted', file: 0, part: 2 })
    m = reduce(m, failed(0, 1, { kind: 'refused', message: 'Storage refused a part as too large for this file.' }))
    expect(m.phase).toBe('failed')
    expect(nextPart(m, 10_000)).toBeNull()
    expect(workerWait(m, 10_000)).toEqual({ kind: 'stop' })
    // The other part's late answer changes nothing.
    expect(reduce(m, { type: 'partStored', file: 0, part: 2, etag: '"x"' })).toBe(m)
  })

  it('a transient failure waits for its backoff, with jitter: two parts failing together retry at different times', () => {
    let m = reduce(reduce(fresh(), { type: 'partStarted', file: 0, part: 1 }), { type: 'partStarted', file: 0, part: 2 })
    m = reduce(m, failed(0, 1, network, 1000, 0.1))
    m = reduce(m, failed(0, 2, network, 1000, 0.9))
    const [p1, p2] = m.files[0]!.parts
    expect(p1!.status).toBe('pending')
    expect(p1!.retryAt).not.toBe(p2!.retryAt)
    for (const p of [p1!, p2!]) {
      expect(p.retryAt).toBeGreaterThanOrEqual(1000 + 250)
      expect(p.retryAt).toBeLessThanOrEqual(1000 + 500)
    }
    // Part 3 is ready now; parts 1 and 2 only after their backoff.
    expect(nextPart(m, 1001)).toEqual({ file: 0, part: 3 })
    m = reduce(m, { type: 'partStarted', file: 0, part: 3 })
    m = reduce(m, { type: 'partStarted', file: 1, part: 1 })
    expect(workerWait(m, 1001)).toEqual({ kind: 'until', at: Math.min(p1!.retryAt, p2!.retryAt) })
    expect(nextPart(m, 1600)).toEqual({ file: 0, part: 1 })
  })

  it('backoff doubles from 0.5 s up to 8 s, and jitter keeps it between half and all of that', () => {
    expect([1, 2, 3, 4, 5, 6, 10].map((a) => backoffMs(a, 1))).toEqual([500, 1000, 2000, 4000, 8000, 8000, 8000])
    expect([1, 2, 5].map((a) => backoffMs(a, 0))).toEqual([250, 500, 4000])
  })

  it('a part out of attempts fails the upload with a message that says so', () => {
    let m = initialMachine(local, 3)
    m = reduce(m, { type: 'stateLoaded', state: state([serverFile(0), serverFile(1)]) })
    for (let i = 0; i < 3; i++) {
      m = reduce(m, { type: 'partStarted', file: 0, part: 1 })
      m = reduce(m, failed(0, 1, { kind: 'server', message: 'The server had a problem, retrying…' }))
    }
    expect(m.phase).toBe('failed')
    expect(m.problem?.message).toMatch(/part 1 failed 3 times/)
  })

  it('429 pauses every worker until Retry-After, and the attempt is not held against the part', () => {
    let m = reduce(fresh(), { type: 'partStarted', file: 0, part: 1 })
    m = reduce(m, failed(0, 1, { kind: 'rateLimited', message: 'slow down', retryAfterMs: 3000 }, 1000))
    expect(m.pausedUntil).toBe(4000)
    expect(m.files[0]!.parts[0]!.attempts).toBe(0)
    for (const t of [1000, 2000, 3999]) expect(nextPart(m, t), `at ${t}`).toBeNull()
    expect(workerWait(m, 2000)).toEqual({ kind: 'until', at: 4000 })
    expect(nextPart(m, 4000)).toEqual({ file: 0, part: 1 })
  })

  it('offline: no worker gets a part, parts lost meanwhile keep their attempts, and online continues', () => {
    let m = reduce(fresh(), { type: 'partStarted', file: 0, part: 1 })
    m = reduce(m, { type: 'offline' })
    m = reduce(m, failed(0, 1, network))
    expect(m.files[0]!.parts[0]).toMatchObject({ status: 'pending', attempts: 0 })
    expect(nextPart(m, 99_999)).toBeNull()
    expect(workerWait(m, 99_999)).toEqual({ kind: 'online' })
    m = reduce(m, { type: 'online' })
    expect(nextPart(m, 1000)).toEqual({ file: 0, part: 1 })
  })

  it('an expired URL is signed again and the part sent at once', () => {
    let m = reduce(fresh(), { type: 'partStarted', file: 0, part: 1 })
    m = reduce(m, failed(0, 1, { kind: 'expired', message: 'expired' }, 1000))
    expect(m.files[0]!.parts[0]!.retryAt).toBe(0)
    expect(nextPart(m, 1000)).toEqual({ file: 0, part: 1 })
  })

  it('bytes in flight count toward the progress, and go back when their PUT fails', () => {
    let m = reduce(fresh(), { type: 'partStarted', file: 0, part: 1 })
    m = reduce(m, { type: 'partProgress', file: 0, part: 1, loaded: 2 * MiB })
    expect(uploadedBytes(m)).toBe(2 * MiB)
    m = reduce(m, failed(0, 1, network))
    expect(uploadedBytes(m)).toBe(0)
  })

  it('cancelled is final: nothing afterwards changes the machine', () => {
    const m = reduce(fresh(), { type: 'cancelled' })
    expect(reduce(m, { type: 'finalized' })).toBe(m)
    expect(reduce(m, { type: 'stateLoaded', state: state([], 'finalized') })).toBe(m)
  })
})
