import { describe, expect, it } from 'vitest'
import { WRITE_BATCH, writeBatcher } from './write-batcher'

describe('writeBatcher', () => {
  it('writes nothing until a batch is full, then the gathered bytes in order; flush writes the rest', async () => {
    const writes: Uint8Array[] = []
    const out = writeBatcher(async (b) => void writes.push(b))
    const chunk = (n: number, fill: number) => new Uint8Array(n).fill(fill)
    await out.push(chunk(WRITE_BATCH - 1, 1))
    expect(writes).toHaveLength(0)
    await out.push(chunk(2, 2))
    expect(writes).toHaveLength(1)
    expect(writes[0]!.byteLength).toBe(WRITE_BATCH + 1)
    expect(writes[0]![WRITE_BATCH - 2]).toBe(1)
    expect(writes[0]![WRITE_BATCH]).toBe(2)
    await out.push(chunk(3, 3))
    await out.flush()
    expect(writes.map((w) => w.byteLength)).toEqual([WRITE_BATCH + 1, 3])
    await out.flush()
    expect(writes).toHaveLength(2)
  })

  it('drop forgets what was held', async () => {
    const writes: Uint8Array[] = []
    const out = writeBatcher(async (b) => void writes.push(b))
    await out.push(new Uint8Array(10))
    out.drop()
    await out.flush()
    expect(writes).toHaveLength(0)
  })
})
