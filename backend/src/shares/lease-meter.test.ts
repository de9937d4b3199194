import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { describe, expect, it, vi } from 'vitest'
import { LeaseMeter, type LeaseMeterOptions } from './lease-meter'

/** Runs chunks through a meter into a sink; reports what came out and what the meter asked for, in order. */
async function run(chunks: Buffer[], o: Partial<LeaseMeterOptions>) {
  const log: string[] = []
  const out: Buffer[] = []
  const meter = new LeaseMeter({
    bytes: chunks.reduce((n, c) => n + c.length, 0),
    endsTheFile: true,
    keepAliveEveryMs: 60_000,
    keepAlive: async () => void log.push('keepAlive'),
    beforeLastBytes: async () => void log.push('record'),
    ...o,
  })
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      log.push(`out:${chunk.toString()}`)
      out.push(chunk)
      cb()
    },
  })
  const result = await pipeline(Readable.from(chunks), meter, sink).then(
    () => null,
    (err: unknown) => err as Error,
  )
  return { log, out: Buffer.concat(out).toString(), error: result }
}

const chunks = (...parts: string[]) => parts.map((p) => Buffer.from(p))

describe('lease meter', () => {
  it('records the download before the chunk with the last byte goes out, once', async () => {
    const { log, out, error } = await run(chunks('aa', 'bb', 'cc'), {})
    expect(error).toBeNull()
    expect(out).toBe('aabbcc')
    expect(log).toEqual(['out:aa', 'out:bb', 'record', 'out:cc'])
  })

  it('never sends the last bytes when recording fails', async () => {
    const { log, out, error } = await run(chunks('aa', 'bb', 'cc'), {
      beforeLastBytes: async () => {
        throw new Error('database down')
      },
    })
    expect(error?.message).toBe('database down')
    expect(out).toBe('aabb')
    expect(log).not.toContain('out:cc')
  })

  it('a range that stops before the end of the file records nothing', async () => {
    const { log, out } = await run(chunks('aa', 'bb'), { endsTheFile: false })
    expect(out).toBe('aabb')
    expect(log).not.toContain('record')
  })

  it('an empty file is recorded before the response ends', async () => {
    const { log, error } = await run([], {})
    expect(error).toBeNull()
    expect(log).toEqual(['record'])
  })

  it('extends the lease every interval while the response is open, and stops once it is over', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    try {
      const source = new Readable({ read() {} })
      let extended = 0
      const meter = new LeaseMeter({
        bytes: 10,
        endsTheFile: true,
        keepAliveEveryMs: 1000,
        keepAlive: async () => void extended++,
        beforeLastBytes: async () => undefined,
      })
      const done = pipeline(source, meter, new Writable({ write: (_c, _e, cb) => cb() }))
      source.push(Buffer.from('12345'))
      // a client reading nothing for a while (its buffers full) keeps its lease as long as it is connected
      await vi.advanceTimersByTimeAsync(3500)
      expect(extended).toBe(3)
      source.push(Buffer.from('67890'))
      source.push(null)
      await done
      await vi.advanceTimersByTimeAsync(5000)
      expect(extended).toBe(3)
    } finally {
      vi.useRealTimers()
    }
  })

  it('a refused extension (lease lapsed, share deleted) cuts the response', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    try {
      const source = new Readable({ read() {} })
      const out: string[] = []
      const meter = new LeaseMeter({
        bytes: 10,
        endsTheFile: true,
        keepAliveEveryMs: 1000,
        keepAlive: async () => {
          throw new Error('lease lapsed')
        },
        beforeLastBytes: async () => void out.push('record'),
      })
      const done = pipeline(source, meter, new Writable({ write: (c: Buffer, _e, cb) => (out.push(c.toString()), cb()) })).then(
        () => null,
        (err: unknown) => err as Error,
      )
      source.push(Buffer.from('12345'))
      await vi.advanceTimersByTimeAsync(1000)
      expect(await done).toMatchObject({ message: 'lease lapsed' })
      expect(out).toEqual(['12345'])
    } finally {
      vi.useRealTimers()
    }
  })

  it('storage sending fewer bytes than the file holds is an error, not a counted download', async () => {
    const { log, error } = await run(chunks('aa'), { bytes: 6 })
    expect(error?.message).toMatch(/less than expected/)
    expect(log).not.toContain('record')
  })
})
