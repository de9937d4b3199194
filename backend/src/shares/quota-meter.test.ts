import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { describe, expect, it } from 'vitest'
import { AppError } from '../http/app-error'
import { QuotaMeter } from './quota-meter'

const MiB = 2 ** 20
const CHUNK = 64 * 1024

/** A quota of `limit` bytes, counting every call made to it. */
function quota(limit: number) {
  const q = {
    used: 0,
    calls: 0,
    charge: async (bytes: number) => {
      q.calls++
      if (q.used + bytes > limit) throw new AppError('quota_exceeded', 'Daily quota used up.')
      q.used += bytes
    },
  }
  return q
}

/** Streams `size` bytes in 64 KiB chunks through a meter; resolves with the bytes that came out. */
async function run(meter: QuotaMeter, size: number): Promise<{ out: number; error: unknown }> {
  const chunk = Buffer.alloc(CHUNK)
  let out = 0
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      out += c.length
      cb()
    },
  })
  const source = Readable.from(
    (function* () {
      for (let left = size; left > 0; left -= CHUNK) yield left >= CHUNK ? chunk : chunk.subarray(0, left)
    })(),
  )
  const error = await pipeline(source, meter, sink).then(
    () => null,
    (err: unknown) => err,
  )
  return { out, error }
}

describe('quota meter', () => {
  it('a 1 GiB upload asks the shared limiter about 70 times, not once per MiB, and everything reserved beyond the bytes is known', async () => {
    const q = quota(Number.MAX_SAFE_INTEGER)
    const meter = new QuotaMeter(q.charge)
    const { out, error } = await run(meter, 1024 * MiB + 5)
    expect(error).toBeNull()
    expect(out).toBe(1024 * MiB + 5)
    expect(meter.bytes).toBe(out)
    expect(q.calls).toBeLessThanOrEqual(70)
    expect(meter.reserved).toBe(q.used)
    expect(meter.reserved - meter.bytes).toBeLessThan(16 * MiB)
  })

  it("near the limit the block shrinks: every byte of the quota can be used, not one more passes, and the error is the quota's 413", async () => {
    const limit = 40 * MiB + 12_345
    const q = quota(limit)
    const meter = new QuotaMeter(q.charge)
    const { out, error } = await run(meter, 100 * MiB)
    expect(error).toMatchObject({ code: 'quota_exceeded' })
    // Stopped at the first chunk that did not fit: whole chunks up to the limit went through.
    expect(out).toBe(Math.floor(limit / CHUNK) * CHUNK)
    expect(out).toBeLessThanOrEqual(limit)
    expect(q.used).toBeLessThanOrEqual(limit)
    expect(meter.reserved).toBe(q.used)
    // Shrinking costs a few refusals per halving, not one call per chunk.
    expect(q.calls).toBeLessThan(60)
  })

  it('a body of known length takes no more quota than it sends: two small uploads of one client fit a small quota at once', async () => {
    const q = quota(MiB)
    const [a, b] = [new QuotaMeter(q.charge, 300_000), new QuotaMeter(q.charge, 300_000)]
    const [ra, rb] = await Promise.all([run(a, 300_000), run(b, 300_000)])
    expect([ra.error, rb.error]).toEqual([null, null])
    // (Without it, the first 1 MiB block of one would fill the quota and refuse the other.)
    expect([a.reserved, b.reserved]).toEqual([300_000, 300_000])
  })

  it('a failure of the limiter itself (not a full quota) stops the upload at once with that error', async () => {
    let calls = 0
    const meter = new QuotaMeter(async () => {
      if (++calls === 3) throw new Error('limiter unreachable')
    })
    const { out, error } = await run(meter, 100 * MiB)
    expect(error).toMatchObject({ message: 'limiter unreachable' })
    expect(calls).toBe(3)
    // Blocks of 1 and 2 MiB were granted: no byte beyond them passed.
    expect(out).toBe(3 * MiB)
  })
})
