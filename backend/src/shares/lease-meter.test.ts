import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { describe, expect, it } from 'vitest'
import { LeaseMeter, type LeaseMeterOptions } from './lease-meter'

/** Runs chunks through a meter into a sink; reports what came out and what the meter asked for, in order. */
async function run(chunks: Buffer[], o: Partial<LeaseMeterOptions>) {
  const log: string[] = []
  const out: Buffer[] = []
  const meter = new LeaseMeter({
    bytes: chunks.reduce((n, c) => n + c.length, 0),
    endsTheFile: true,
    keepAliveEveryMs: 1000,
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

  it('extends the lease while bytes flow, at most once per interval; a refused extension cuts the stream', async () => {
    let clock = 0
    const ticking = { now: () => clock }
    const slow = new Readable({ read() {} })
    const log: string[] = []
    const meter = new LeaseMeter({
      bytes: 10,
      endsTheFile: true,
      keepAliveEveryMs: 1000,
      keepAlive: async () => {
        log.push(`keepAlive@${clock}`)
        if (clock >= 5000) throw new Error('lease lapsed')
      },
      beforeLastBytes: async () => void log.push('record'),
      ...ticking,
    })
    const done = pipeline(slow, meter, new Writable({ write: (_c, _e, cb) => cb() })).then(
      () => null,
      (err: unknown) => err as Error,
    )
    const push = async (at: number) => {
      clock = at
      slow.push(Buffer.from('x'))
      await new Promise((r) => setImmediate(r))
    }
    await push(100) // too soon
    await push(1200) // due: extended
    await push(1500) // too soon again
    await push(5000) // a stall longer than the lease: the extension is refused, the stream ends in an error
    expect(await done).toMatchObject({ message: 'lease lapsed' })
    expect(log).toEqual(['keepAlive@1200', 'keepAlive@5000'])
  })

  it('storage sending fewer bytes than the file holds is an error, not a counted download', async () => {
    const { log, error } = await run(chunks('aa'), { bytes: 6 })
    expect(error?.message).toMatch(/less than expected/)
    expect(log).not.toContain('record')
  })
})
