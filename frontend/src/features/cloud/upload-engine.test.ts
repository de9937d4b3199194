/**
 * The upload engine's scheduler against fake ports: a fake server (upload state, signing, parts,
 * completion, finalize), a network that can go offline, and vitest's fake clock, so every scenario
 * (outages, stalls, 429s, minutes of backoff) runs in milliseconds.
 */
import type { UploadState } from '@sharesync/protocol'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError } from '../../lib/api'
import { isCancelled, UploadEngine, type UploadSnapshot } from './upload-engine'
import type { PartEncoder } from './encryption/seal-upload'
import { PartHttpError, systemClock, type Network, type UploadHttp } from './upload-ports'

const MiB = 2 ** 20
const PART = 5 * MiB

interface PutCall {
  file: number
  part: number
  at: number
  signal: AbortSignal
  onProgress: (loaded: number) => void
  size: number
}

/** A server holding one share: what it stores, and a log of every call, with the fake time. */
function fakeServer(sizes: number[]) {
  const files = sizes.map((size, i) => ({ id: String.fromCharCode(65 + i).repeat(22), size, partSize: PART, partCount: Math.ceil(size / PART) }))
  const stored = files.map(() => new Map<number, { etag: string; size: number }>())
  const completed = new Set<number>()
  let finalized = false
  const puts: PutCall[] = []
  const calls: string[] = []
  /** How a PUT behaves; by default: progress in two steps of 10 ms, then stored. */
  let onPut = async (call: PutCall): Promise<{ etag: string }> => {
    await wait(10, call.signal)
    call.onProgress(call.size / 2)
    await wait(10, call.signal)
    call.onProgress(call.size)
    return store(call)
  }
  const store = (call: PutCall) => {
    const etag = `"${call.file}-${call.part}-${puts.indexOf(call)}"`
    stored[call.file]!.set(call.part, { etag, size: call.size })
    return { etag }
  }
  const state = (): UploadState => ({
    id: 'S'.repeat(22),
    status: finalized ? 'finalized' : 'uploading',
    files: files.map((f, i) => ({
      ...f,
      completed: completed.has(i),
      parts: completed.has(i) ? [] : [...stored[i]!].map(([partNumber, p]) => ({ partNumber, ...p })),
    })),
  })
  const http: UploadHttp = {
    state: async () => {
      calls.push('state')
      return state()
    },
    signParts: async (fileId, partNumbers) => {
      calls.push(`sign ${partNumbers.join(',')}`)
      const file = files.findIndex((f) => f.id === fileId)
      return { parts: partNumbers.map((n) => ({ partNumber: n, url: `${file}:${n}` })), expiresAt: new Date(Date.now() + 60_000).toISOString() }
    },
    putPart: (url, body, opts) => {
      const [file, part] = url.split(':').map(Number) as [number, number]
      const call = { file, part, at: Date.now(), signal: opts.signal, onProgress: opts.onProgress, size: body instanceof Blob ? body.size : body.byteLength }
      puts.push(call)
      return onPut(call)
    },
    completeFile: async (fileId, parts) => {
      const i = files.findIndex((f) => f.id === fileId)
      calls.push(`complete ${i}`)
      const f = files[i]!
      for (let n = 1; n <= f.partCount; n++) if (!stored[i]!.has(n)) throw new ApiError(409, 'upload_incomplete', `Parts missing: ${n}.`)
      for (const p of parts) if (stored[i]!.get(p.partNumber)?.etag !== p.etag) throw new ApiError(409, 'part_mismatch', `Part ${p.partNumber} differs.`)
      completed.add(i)
      return { size: f.size }
    },
    finalize: async () => {
      calls.push('finalize')
      if (completed.size !== files.length) throw new ApiError(409, 'upload_incomplete', 'Some files are not complete.')
      finalized = true
      return {}
    },
  }
  return {
    files,
    stored,
    completed,
    puts,
    calls,
    http,
    store,
    get finalized() {
      return finalized
    },
    set onPut(fn: (call: PutCall) => Promise<{ etag: string }>) {
      onPut = fn
    },
  }
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return systemClock.sleep(ms, signal)
}

function fakeNetwork(): Network & { set(online: boolean): void } {
  let online = true
  const listeners = new Set<(online: boolean) => void>()
  return {
    online: () => online,
    watch: (fn) => {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
    set(value) {
      online = value
      for (const l of listeners) l(value)
    },
  }
}

function engineFor(
  server: ReturnType<typeof fakeServer>,
  opts: { network?: Network; random?: () => number; snapshots?: UploadSnapshot[]; withFiles?: boolean[]; encoders?: (file: number) => PartEncoder } = {},
) {
  const snapshots = opts.snapshots ?? []
  return new UploadEngine({
    shareId: 'S'.repeat(22),
    ownerToken: 'owner',
    names: server.files.map((_, i) => `file-${i}.bin`),
    files: server.files.map((f, i) => ({
      fileId: f.id,
      size: f.size,
      partSize: f.partSize,
      partCount: f.partCount,
      ...(opts.encoders ? { encoder: opts.encoders(i) } : opts.withFiles?.[i] === false ? {} : { file: new File([new Uint8Array(f.size)], `file-${i}.bin`) }),
    })),
    concurrency: 4,
    onProgress: (s) => snapshots.push(s),
    ports: { http: server.http, clock: { ...systemClock, random: opts.random ?? (() => 0.5) }, network: opts.network ?? fakeNetwork() },
    tuning: { stallMs: 2000, maxAttempts: 4, defaultRetryAfterMs: 5000 },
  })
}

/** Runs the engine to its end on the fake clock. */
async function finish(engine: UploadEngine): Promise<{ error: unknown }> {
  let error: unknown = null
  const running = engine.run().catch((err: unknown) => (error = err))
  await vi.runAllTimersAsync()
  await running
  return { error }
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 })
})
afterEach(() => {
  vi.useRealTimers()
})

describe('upload engine', () => {
  it('sends every part, completes each file, finalizes, and says done only after the server finalized', async () => {
    const server = fakeServer([12 * MiB, 3 * MiB])
    const snapshots: UploadSnapshot[] = []
    const { error } = await finish(engineFor(server, { snapshots }))
    expect(error).toBeNull()
    expect(server.puts.map((p) => `${p.file}:${p.part}`).sort()).toEqual(['0:1', '0:2', '0:3', '1:1'])
    expect(server.calls.filter((c) => !c.startsWith('sign'))).toEqual(['state', 'complete 0', 'complete 1', 'finalize'])
    expect(server.finalized).toBe(true)
    const phases = snapshots.map((s) => s.phase)
    expect(phases[phases.length - 1]).toBe('done')
    // Once done, only done; and before finalize answered, never done.
    expect(phases.slice(phases.indexOf('done')).every((p) => p === 'done')).toBe(true)
    expect(phases.slice(0, phases.indexOf('done'))).not.toContain('done')
    const percents = snapshots.map((s) => s.percent)
    expect(percents).toEqual([...percents].sort((a, b) => a - b))
    expect(percents[percents.length - 1]).toBe(100)
  })

  it('resumes from the upload state: parts the server holds are not sent again, a completed file is neither sent nor completed', async () => {
    const server = fakeServer([12 * MiB, 3 * MiB])
    server.stored[0]!.set(1, { etag: '"held-1"', size: PART })
    server.stored[0]!.set(2, { etag: '"short"', size: PART - 1 }) // not its full size: sent again
    server.completed.add(1)
    const snapshots: UploadSnapshot[] = []
    // The completed file's bytes are not even needed (after a reload nobody picked it again).
    const { error } = await finish(engineFor(server, { snapshots, withFiles: [true, false] }))
    expect(error).toBeNull()
    expect(server.puts.map((p) => `${p.file}:${p.part}`).sort()).toEqual(['0:2', '0:3'])
    expect(server.calls.filter((c) => c.startsWith('complete'))).toEqual(['complete 0'])
    expect(snapshots[snapshots.length - 1]!.resumedBytes).toBe(PART + 3 * MiB)
  })

  it("an encoded part's body is released once its PUT is over, sent or refused, and only then", async () => {
    const server = fakeServer([12 * MiB])
    const log: string[] = []
    let refused = false
    server.onPut = async (call) => {
      log.push(`put ${call.part}`)
      await wait(10, call.signal)
      log.push(`end ${call.part}`)
      if (call.part === 2 && !refused) {
        refused = true
        throw new PartHttpError(503)
      }
      return server.store(call)
    }
    const encoders = (): PartEncoder => ({
      size: 12 * MiB,
      part: async (n, partSize) => {
        log.push(`part ${n}`)
        return new Blob([new Uint8Array(Math.min(partSize, 12 * MiB - (n - 1) * partSize))])
      },
      release: (n) => log.push(`release ${n}`),
    })
    const { error } = await finish(engineFor(server, { encoders }))
    expect(error).toBeNull()
    expect(server.finalized).toBe(true)
    for (const n of [1, 2, 3]) {
      const mine = log.filter((l) => l.endsWith(` ${n}`))
      // part 2 twice (refused, then sent): each body made, sent, ended, then released
      const once = [`part ${n}`, `put ${n}`, `end ${n}`, `release ${n}`]
      expect(mine).toEqual(n === 2 ? [...once, ...once] : once)
    }
  })

  it('a finalized share is done without sending anything', async () => {
    const server = fakeServer([3 * MiB])
    server.completed.add(0)
    await server.http.finalize()
    server.calls.length = 0
    const { error } = await finish(engineFor(server))
    expect(error).toBeNull()
    expect(server.puts).toEqual([])
    expect(server.calls).toEqual(['state'])
  })

  it('after a refused part, every PUT in flight is aborted and no part request is sent any more', async () => {
    const server = fakeServer([40 * MiB])
    let failedAt = Infinity
    server.onPut = async (call) => {
      if (call.part === 2) {
        await wait(5, call.signal)
        failedAt = Date.now()
        throw new PartHttpError(413)
      }
      // The others take long: they are still on their way when part 2 is refused.
      await wait(60_000, call.signal)
      return server.store(call)
    }
    const engine = engineFor(server)
    const { error } = await finish(engine)
    expect(error).toBeInstanceOf(Error)
    expect(engine.machine.phase).toBe('failed')
    expect(server.puts.filter((p) => p.at > failedAt)).toEqual([])
    expect(server.puts.every((p) => p.part === 2 || p.signal.aborted)).toBe(true)
    expect(server.calls).not.toContain('finalize')
  })

  it('a part with no progress for the stall timeout is aborted and sent again', async () => {
    const server = fakeServer([3 * MiB])
    let first = true
    server.onPut = async (call) => {
      if (first) {
        first = false
        call.onProgress(1000)
        // Then nothing: the connection hangs without an error.
        await wait(10 * 60_000, call.signal)
      }
      await wait(10, call.signal)
      return server.store(call)
    }
    const { error } = await finish(engineFor(server))
    expect(error).toBeNull()
    expect(server.puts).toHaveLength(2)
    expect(server.puts[0]!.signal.aborted).toBe(true)
    // Aborted after the stall timeout (2 s here), not after the ten minutes the PUT would have hung.
    expect(server.puts[1]!.at - server.puts[0]!.at).toBeLessThan(2000 + 1000)
  })

  it('a 429 pauses every worker until Retry-After, then the upload goes on', async () => {
    const server = fakeServer([30 * MiB])
    let limitedAt = 0
    server.onPut = async (call) => {
      if (call.part === 1 && limitedAt === 0) {
        limitedAt = Date.now()
        throw new PartHttpError(429, 3000)
      }
      await wait(10, call.signal)
      return server.store(call)
    }
    const snapshots: UploadSnapshot[] = []
    const { error } = await finish(engineFor(server, { snapshots }))
    expect(error).toBeNull()
    const started = server.puts.filter((p) => p.at > limitedAt)
    expect(started.length).toBeGreaterThan(0)
    // No worker sent anything during the pause.
    expect(started.every((p) => p.at >= limitedAt + 3000)).toBe(true)
    expect(snapshots.some((s) => s.phase === 'paused' && s.bytesPerSecond === 0)).toBe(true)
  })

  it('offline pauses every worker until the connection is back, without using up attempts', async () => {
    const server = fakeServer([20 * MiB])
    const network = fakeNetwork()
    let cut = false
    server.onPut = async (call) => {
      if (!cut) {
        cut = true
        network.set(false)
        throw new PartHttpError(0)
      }
      await wait(10, call.signal)
      return server.store(call)
    }
    const snapshots: UploadSnapshot[] = []
    const engine = engineFor(server, { network, snapshots })
    let error: unknown = null
    const running = engine.run().catch((err: unknown) => (error = err))
    // An hour offline: far more than every backoff together.
    await vi.advanceTimersByTimeAsync(3_600_000)
    const during = server.puts.length
    expect(snapshots[snapshots.length - 1]!.phase).toBe('offline')
    expect(snapshots[snapshots.length - 1]!.bytesPerSecond).toBe(0)
    network.set(true)
    await vi.runAllTimersAsync()
    await running
    expect(error).toBeNull()
    expect(during).toBeLessThanOrEqual(4) // only the PUTs already started when the connection went
    expect(server.finalized).toBe(true)
  })

  it('retries are spread with jitter: parts failing together are not sent again at the same moment', async () => {
    const server = fakeServer([20 * MiB])
    const failedOnce = new Set<number>()
    server.onPut = async (call) => {
      if (!failedOnce.has(call.part)) {
        failedOnce.add(call.part)
        throw new PartHttpError(503)
      }
      return server.store(call)
    }
    const randoms = [0.05, 0.35, 0.65, 0.95]
    let r = 0
    const { error } = await finish(engineFor(server, { random: () => randoms[r++ % randoms.length]! }))
    expect(error).toBeNull()
    const retries = server.puts.filter((_, i) => i >= 4).map((p) => p.at)
    expect(new Set(retries).size).toBe(retries.length)
  })

  it('cancel stops every worker at once: run rejects as cancelled and no request follows', async () => {
    const server = fakeServer([40 * MiB])
    server.onPut = async (call) => {
      await wait(60_000, call.signal)
      return server.store(call)
    }
    const engine = engineFor(server)
    let error: unknown = null
    const running = engine.run().catch((err: unknown) => (error = err))
    await vi.advanceTimersByTimeAsync(100)
    const before = server.puts.length
    engine.cancel()
    await vi.runAllTimersAsync()
    await running
    await engine.settled
    expect(isCancelled(error)).toBe(true)
    expect(server.puts).toHaveLength(before)
    expect(server.puts.every((p) => p.signal.aborted)).toBe(true)
    expect(engine.machine.phase).toBe('cancelled')
  })

  it('an engine runs once: a retry needs a new engine', async () => {
    const server = fakeServer([MiB])
    const engine = engineFor(server)
    await finish(engine)
    await expect(engine.run()).rejects.toThrow(/runs once/)
  })

  it('finalize that keeps failing leaves the upload interrupted, never done', async () => {
    const server = fakeServer([MiB])
    server.http.finalize = async () => {
      throw new ApiError(0, 'network_error', 'Could not reach the server.')
    }
    const snapshots: UploadSnapshot[] = []
    const engine = engineFor(server, { snapshots })
    const { error } = await finish(engine)
    expect(error).toBeInstanceOf(ApiError)
    expect(snapshots.some((s) => s.phase === 'done')).toBe(false)
    expect(engine.machine.phase).toBe('failed')
  })

  it('a part the server replaced (part_mismatch at completion) is sent again, then the upload completes', async () => {
    const server = fakeServer([8 * MiB])
    let replaced = false
    const complete = server.http.completeFile
    server.http.completeFile = async (fileId, parts) => {
      if (!replaced) {
        replaced = true
        // Another writer's part 2 took the place of ours.
        server.stored[0]!.set(2, { etag: '"someone-else"', size: 1 })
      }
      return complete(fileId, parts)
    }
    const { error } = await finish(engineFor(server))
    expect(error).toBeNull()
    expect(server.puts.map((p) => p.part)).toEqual([1, 2, 2])
    expect(server.finalized).toBe(true)
  })

  it('a lost answer is not sent again: the part the server already holds counts as stored', async () => {
    const server = fakeServer([3 * MiB])
    let lost = false
    server.onPut = async (call) => {
      server.store(call)
      if (!lost) {
        lost = true
        throw new PartHttpError(0) // stored, but the answer never arrived
      }
      return server.store(call)
    }
    const { error } = await finish(engineFor(server))
    expect(error).toBeNull()
    expect(server.puts).toHaveLength(1)
  })

  it('after a resume, the speed counts only the bytes sent in this session', async () => {
    // 180 MiB of 200 are already on the server; the last 4 parts go at 10 MiB/s together.
    const server = fakeServer([200 * MiB])
    for (let n = 1; n <= 36; n++) server.stored[0]!.set(n, { etag: `"${n}"`, size: PART })
    server.onPut = async (call) => {
      for (let sent = 0; sent < call.size; ) {
        await wait(100, call.signal)
        sent = Math.min(call.size, sent + MiB / 4) // 2.5 MiB/s per PUT, 4 in parallel
        call.onProgress(sent)
      }
      return server.store(call)
    }
    const snapshots: UploadSnapshot[] = []
    const { error } = await finish(engineFor(server, { snapshots }))
    expect(error).toBeNull()
    const speeds = snapshots.filter((s) => s.phase === 'uploading' && s.bytesPerSecond > 0).map((s) => s.bytesPerSecond)
    expect(speeds.length).toBeGreaterThan(3)
    for (const speed of speeds) {
      expect(speed).toBeGreaterThan(5 * MiB)
      expect(speed).toBeLessThan(20 * MiB)
    }
    const eta = snapshots.find((s) => s.phase === 'uploading' && s.secondsLeft !== null)
    expect(eta!.secondsLeft).toBeGreaterThan(0.5)
  })
})
