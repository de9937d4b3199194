import { describe, expect, it } from 'vitest'
import type { DownloadFile } from '../db/downloads.repo'
import { OpenLinks } from './open-links'

const HOUR = 3_600_000
const fileOf = (shareId: string, id: string, expiresAt: number): DownloadFile => ({
  id,
  share_id: shareId,
  name: `${id}.txt`,
  path: '',
  size: 1,
  content_type: 'text/plain',
  storage_key: `k/${id}`,
  completed_at: new Date(0),
  expires_at: new Date(expiresAt),
  direct: false,
})

function setup(ttlMs = 1000, maxEntries?: number) {
  let now = 1_000_000
  const links = new OpenLinks({ ttlMs, maxEntries, now: () => now })
  return { links, at: () => now, advance: (ms: number) => (now += ms) }
}

describe('open links remembered for a second', () => {
  it('a file read once is served from memory until its second is up, then read again', () => {
    const { links, at, advance } = setup()
    const f = fileOf('s1', 'f1', at() + HOUR)
    expect(links.get('s1', null)).toBeNull()
    links.remember('s1', null, f)
    expect(links.get('s1', null)).toBe(f)
    advance(999)
    expect(links.get('s1', null)).toBe(f)
    advance(1)
    expect(links.get('s1', null)).toBeNull()
  })

  it('never past the share expiry: within its last second the database is asked again', () => {
    const { links, at, advance } = setup(10_000)
    links.remember('s1', null, fileOf('s1', 'f1', at() + 1500))
    expect(links.get('s1', null)).not.toBeNull()
    advance(600)
    expect(links.get('s1', null)).toBeNull()
  })

  it('a deleted or changed share is forgotten at once, with all its files; other shares stay', () => {
    const { links, at } = setup()
    links.remember('s1', null, fileOf('s1', 'f1', at() + HOUR))
    links.remember('s1', 'f2', fileOf('s1', 'f2', at() + HOUR))
    links.remember('s2', null, fileOf('s2', 'g1', at() + HOUR))
    links.forget('s1')
    expect(links.get('s1', null)).toBeNull()
    expect(links.get('s1', 'f2')).toBeNull()
    expect(links.get('s2', null)?.id).toBe('g1')
    links.clear()
    expect(links.size).toBe(0)
  })

  it('the single-file form and a named file are separate entries (a multi-file share has no single file)', () => {
    const { links, at } = setup()
    links.remember('s1', 'f1', fileOf('s1', 'f1', at() + HOUR))
    expect(links.get('s1', null)).toBeNull()
    expect(links.get('s1', 'f1')?.id).toBe('f1')
  })

  it('a flood of distinct links keeps at most maxEntries, dropping the oldest', () => {
    const { links, at } = setup(1000, 3)
    for (const id of ['a', 'b', 'c', 'd']) links.remember(id, null, fileOf(id, id, at() + HOUR))
    expect(links.size).toBe(3)
    expect(links.get('a', null)).toBeNull()
    expect(links.get('d', null)?.id).toBe('d')
  })

  it('requests that miss while a read runs share it: one query, however many are waiting', async () => {
    const { links, at } = setup()
    let reads = 0
    let answer!: (f: DownloadFile) => void
    const read = () => {
      reads++
      return new Promise<DownloadFile | null>((resolve) => (answer = resolve))
    }
    const waiting = Array.from({ length: 100 }, () => links.read('s1', null, read))
    expect(reads).toBe(1)
    const f = fileOf('s1', 'f1', at() + HOUR)
    answer(f)
    expect(new Set(await Promise.all(waiting))).toEqual(new Set([f]))
    expect(links.get('s1', null)).toBe(f)
    // another file of the same share is another read
    void links.read('s1', 'f2', read)
    expect(reads).toBe(2)
  })

  it('a failed read is passed to the requests that waited for it, and the next one reads again', async () => {
    const { links, at } = setup()
    const failing = links.read('s1', null, () => Promise.reject(new Error('database down')))
    const sharing = links.read('s1', null, () => Promise.resolve(fileOf('s1', 'unused', at() + HOUR)))
    await expect(failing).rejects.toThrow('database down')
    await expect(sharing).rejects.toThrow('database down')
    expect(links.get('s1', null)).toBeNull()
    await expect(links.read('s1', null, () => Promise.resolve(fileOf('s1', 'f1', at() + HOUR)))).resolves.toMatchObject({ id: 'f1' })
    expect(links.get('s1', null)?.id).toBe('f1')
  })

  it('a share forgotten while its read runs: that answer is not remembered, and later requests read again', async () => {
    const { links, at } = setup()
    let answer!: (f: DownloadFile) => void
    const before = links.read('s1', null, () => new Promise<DownloadFile | null>((resolve) => (answer = resolve)))
    links.forget('s1')
    let reads = 0
    const after = links.read('s1', null, async () => {
      reads++
      return null
    })
    expect(reads).toBe(1)
    answer(fileOf('s1', 'f1', at() + HOUR))
    await before
    await expect(after).resolves.toBeNull()
    expect(links.get('s1', null)).toBeNull()
  })

  it('a share that is not an open link (read as null) is not remembered', async () => {
    const { links } = setup()
    await expect(links.read('s1', null, async () => null)).resolves.toBeNull()
    expect(links.size).toBe(0)
  })
})
