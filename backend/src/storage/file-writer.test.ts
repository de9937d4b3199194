import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openOn } from '../../test/support/descriptors'
import { FileWriter } from './file-writer'

describe('FileWriter', () => {
  let dir = ''
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'file-writer-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('writes exactly the bytes it was given, in order, whatever the chunk sizes', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17)
    // chunk sizes from 1 byte (a trickling client: many more chunks than one writev takes) to 300 KiB
    const sizes = [1, 7, 16 * 1024, 64 * 1024, 300 * 1024, 3]
    const chunks: Buffer[] = []
    for (let at = 0, i = 0; at < bytes.length; i++) {
      const n = Math.min(sizes[i % sizes.length]!, bytes.length - at)
      chunks.push(bytes.subarray(at, at + n))
      at += n
    }
    const trickle = Array.from({ length: 5000 }, (_, i) => Buffer.from([i & 0xff]))
    const path = join(dir, 'out')
    await pipeline(Readable.from([...chunks, ...trickle]), new FileWriter(path, 'wx'))
    expect(readFileSync(path).equals(Buffer.concat([bytes, ...trickle]))).toBe(true)
    expect(openOn(path)).toBe(0)
  })

  it('an empty stream leaves an empty file; a file that exists is refused with wx and left alone', async () => {
    const empty = join(dir, 'empty')
    await pipeline(Readable.from([]), new FileWriter(empty, 'wx'))
    expect(readFileSync(empty).length).toBe(0)
    const taken = join(dir, 'taken')
    writeFileSync(taken, 'keep')
    await expect(pipeline(Readable.from([Buffer.from('new')]), new FileWriter(taken, 'wx'))).rejects.toMatchObject({ code: 'EEXIST' })
    expect(readFileSync(taken, 'utf8')).toBe('keep')
  })

  it('a source that fails midway closes the file (it can be removed) and fails the pipeline', async () => {
    const path = join(dir, 'cut')
    const writer = new FileWriter(path, 'wx')
    async function* failing() {
      yield randomBytes(400 * 1024)
      throw new Error('connection lost')
    }
    await expect(pipeline(Readable.from(failing()), writer)).rejects.toThrow('connection lost')
    await new Promise((resolve) => (writer.closed ? resolve(null) : writer.once('close', resolve)))
    expect(openOn(path)).toBe(0)
    rmSync(path)
    expect(existsSync(path)).toBe(false)
  })

  it('destroyed while it is still opening, it closes what it opened', async () => {
    const path = join(dir, 'early')
    const writer = new FileWriter(path, 'wx')
    writer.destroy()
    await new Promise((resolve) => writer.once('close', resolve))
    expect(existsSync(path)).toBe(true)
    expect(openOn(path)).toBe(0)
  })
})
