import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { describe, expect, it } from 'vitest'
import { ExactLength } from './exact-length'

async function through(chunks: Buffer[], bytes: number): Promise<{ out: Buffer; error: Error | null }> {
  const out: Buffer[] = []
  const check = new ExactLength(bytes)
  check.on('data', (c: Buffer) => out.push(c))
  const error = await pipeline(Readable.from(chunks), check).then(
    () => null,
    (err: Error) => err,
  )
  return { out: Buffer.concat(out), error }
}

describe('ExactLength', () => {
  it('passes exactly the announced bytes through, in any chunking, and an empty file', async () => {
    const bytes = Buffer.from('abcdefghij')
    expect(await through([bytes.subarray(0, 3), bytes.subarray(3, 4), bytes.subarray(4)], 10)).toEqual({ out: bytes, error: null })
    expect(await through([], 0)).toEqual({ out: Buffer.alloc(0), error: null })
  })

  it('fails a stream that ends short of the announced length (a truncated blob)', async () => {
    const { error } = await through([Buffer.alloc(9)], 10)
    expect(error?.message).toMatch(/1 bytes less than expected/)
  })

  it('fails a stream that runs past the announced length, before passing the extra bytes on', async () => {
    const { out, error } = await through([Buffer.alloc(6), Buffer.alloc(6)], 10)
    expect(error?.message).toMatch(/2 bytes more than expected/)
    expect(out.length).toBe(6)
  })
})
