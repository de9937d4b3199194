import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openOn } from '../../test/support/descriptors'
import { collectYoungGeneration } from '../memory/young-generation'
import { fileBytes } from './disk-store'
import { FileWriter } from './file-writer'
import { releasing } from './released-buffers'

const MiB = 2 ** 20
const STREAMED = 128 * MiB
/**
 * Buffer bytes held at once, at most, while 128 MiB stream through. Paced, a minor collection comes
 * every 8 MiB (seen: 8–14 MiB held); left to V8's schedule the finished chunks pile up (seen: 29–55).
 */
const HELD_AT_MOST = 20 * MiB

/** Chunks of fresh memory, as a socket or a file read delivers them (each one its own ArrayBuffer). */
function freshChunks(total: number, size: number): Readable {
  let left = total
  return new Readable({
    highWaterMark: size,
    read() {
      const n = Math.min(size, left)
      left -= n
      this.push(n > 0 ? Buffer.allocUnsafeSlow(n).fill(left & 0xff) : null)
    },
  })
}

/** Watches `arrayBuffers` (the bytes outside the heap) from a starting point; `peak()` is the most held. */
function watchHeld() {
  collectYoungGeneration()
  const start = process.memoryUsage().arrayBuffers
  let most = 0
  return {
    sample: () => {
      most = Math.max(most, process.memoryUsage().arrayBuffers - start)
    },
    peak: () => most,
  }
}

/** A consumer that drops what it gets, sampling as it goes. */
function discard(sample: () => void): Writable {
  let bytes = 0
  return new Writable({
    highWaterMark: 256 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      bytes += chunk.byteLength
      sample()
      callback()
    },
    final(callback) {
      expect(bytes).toBe(STREAMED)
      callback()
    },
  })
}

describe('released buffers: a minor collection every 8 MiB streamed', () => {
  let dir = ''
  let big = ''
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'released-buffers-'))
    big = join(dir, 'big')
    writeFileSync(big, Buffer.alloc(STREAMED, 7))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('a stream through releasing() holds a few chunks, not the whole pile of finished ones', async () => {
    const held = watchHeld()
    await pipeline(releasing(freshChunks(STREAMED, 256 * 1024)), discard(held.sample))
    expect(held.peak()).toBeLessThan(HELD_AT_MOST)
  })

  it('an upload written by FileWriter releases its chunks as they reach the file', async () => {
    const held = watchHeld()
    const source = freshChunks(STREAMED, 64 * 1024)
    source.on('data', held.sample)
    await pipeline(source, new FileWriter(join(dir, 'written'), 'w'))
    expect(held.peak()).toBeLessThan(HELD_AT_MOST)
  })

  it('a file read by fileBytes releases its chunks as they go out, and destroying it closes the file', async () => {
    const held = watchHeld()
    await pipeline(fileBytes(await open(big, 'r')), discard(held.sample))
    expect(held.peak()).toBeLessThan(HELD_AT_MOST)

    const body = fileBytes(await open(big, 'r'), { start: 0, end: STREAMED - 1 })
    expect(openOn(big)).toBe(1)
    await new Promise<void>((resolve) => body.once('readable', () => resolve()))
    body.destroy()
    await expect.poll(() => openOn(big)).toBe(0)
  })
})
