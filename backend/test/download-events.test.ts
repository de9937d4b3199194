/**
 * Downloads of unlimited shares are counted in batches (DOWNLOAD_COUNT_FLUSH): written within the
 * window and on shutdown, seen at once by the owner on the instance that served them, kept when the
 * database refuses a batch; limited shares are never batched. Their files are looked up once a
 * second at most, and a deletion is seen at once. The real server on PGlite, over HTTP.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Queryable } from '../src/db/db'
import { DownloadEvents } from '../src/shares/download-events'
import { startTestServer, type TestServer } from './support/harness'

const LIMITS = { UPLOAD_RATE_LIMIT: '1000/1h', DOWNLOAD_RATE_LIMIT: '100000/1m' }
const silent = pino({ level: 'silent' })
// One server for the file (restarted once, on the same data): batches are due only after an hour,
// so whatever is in the database was written by a reader's flush, a limited download or the shutdown.
const dataDir = mkdtempSync(join(tmpdir(), 'sharesync-events-'))
let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ ...LIMITS, DOWNLOAD_COUNT_FLUSH: '1h', DATA_DIR: dataDir })
})
afterAll(async () => {
  await server?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

async function upload(query = ''): Promise<{ id: string; ownerToken: string }> {
  const res = await server.fetch(`/api/upload/hello.txt${query}`, { method: 'PUT', body: 'hello, world\n' })
  expect(res.status).toBe(201)
  return (await res.json()) as { id: string; ownerToken: string }
}

const issue = (id: string) =>
  server.fetch(`/api/shares/${id}/download`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })

/** What the database holds right now, without flushing anything. */
async function stored(q: Queryable, shareId: string): Promise<{ n: number; first: Date | null; last: Date | null }> {
  const [row] = await q.query<{ n: number; first: Date | null; last: Date | null }>(
    `SELECT count(*)::int AS n, min(at) AS first, max(at) AS last FROM download_events WHERE share_id = $1`,
    [shareId],
  )
  return row!
}

describe('download counts of unlimited links, written in batches', () => {
  it('thirty downloads counted at once are all in the database within the flush window, each at the time it happened', async () => {
    const share = await upload()
    const events = new DownloadEvents({ db: server.deps.db, logger: silent }, { flushMs: 100 })
    const before = Date.now()
    for (let i = 0; i < 30; i++) events.record({ shareId: share.id, fileId: 'f', bytes: 13, userId: null })
    const after = Date.now()
    expect(events.waiting).toBe(30)
    await vi.waitFor(async () => expect((await stored(server.deps.db, share.id)).n).toBe(30), { timeout: 5000, interval: 50 })
    expect(events.waiting).toBe(0)
    const row = await stored(server.deps.db, share.id)
    // the event keeps the moment of the download, not the moment of the write
    expect(new Date(row.first!).getTime()).toBeGreaterThanOrEqual(before - 5)
    expect(new Date(row.last!).getTime()).toBeLessThanOrEqual(after + 5)
    await events.stop()
  })

  it('the owner sees a download at once on the instance that served it, though the batch is not due for an hour', async () => {
    const share = await upload()
    expect((await issue(share.id)).status).toBe(200)
    expect((await stored(server.deps.db, share.id)).n).toBe(0)
    const state = await server.fetch(`/api/shares/${share.id}/upload`, { headers: { 'x-owner-token': share.ownerToken } })
    expect(state.status).toBe(200)
    expect(((await state.json()) as { delivery: { downloads: number } }).delivery.downloads).toBe(1)
  })

  it('a graceful shutdown writes the counts still in memory: after a restart every download is there', async () => {
    const share = await upload()
    for (let i = 0; i < 5; i++) expect((await issue(share.id)).status).toBe(200)
    expect((await stored(server.deps.db, share.id)).n).toBe(0)
    await server.close()
    server = await startTestServer({ ...LIMITS, DOWNLOAD_COUNT_FLUSH: '1h', DATA_DIR: dataDir })
    expect((await stored(server.deps.db, share.id)).n).toBe(5)
  })

  it('a limited link is never batched: its download is counted in the database the moment its last byte goes out', async () => {
    const share = await upload('?maxDownloads=1')
    const issued = (await (await issue(share.id)).json()) as { url: string }
    const body = await fetch(issued.url)
    expect(await body.text()).toBe('hello, world\n')
    await vi.waitFor(async () => {
      const [row] = await server.deps.db.query<{ downloads: number }>(`SELECT downloads FROM shares WHERE id = $1`, [share.id])
      expect(row!.downloads).toBe(1)
    })
    expect((await stored(server.deps.db, share.id)).n).toBe(1)
    expect(server.deps.downloadEvents.waiting).toBe(0)
    expect((await issue(share.id)).status).toBe(404)
  })

  it('an open link deleted by its owner answers 404 at once, though its file was looked up a moment before', async () => {
    const share = await upload()
    expect((await issue(share.id)).status).toBe(200)
    expect((await issue(share.id)).status).toBe(200)
    const deleted = await server.fetch(`/api/shares/${share.id}`, { method: 'DELETE', headers: { 'x-owner-token': share.ownerToken } })
    expect(deleted.status).toBe(204)
    expect((await issue(share.id)).status).toBe(404)
  })

  it('an open link deleted by another instance stops within a second, even while it is downloaded without a pause', async () => {
    const share = await upload()
    expect((await issue(share.id)).status).toBe(200)
    // another instance's delete: the row changes, this instance hears no event
    await server.deps.db.query(`UPDATE shares SET status = 'deleting' WHERE id = $1`, [share.id])
    // downloads keep coming, 50 a second (each one used to keep the remembered file fresh for another second)
    await vi.waitFor(async () => expect((await issue(share.id)).status).toBe(404), { timeout: 3000, interval: 20 })
  })

  it('a batch the database refuses is kept and written once it answers again, nothing counted twice', async () => {
    const share = await upload()
    let refuse = true
    const flaky: Queryable = {
      query: <T>(sql: string, params?: unknown[]) => (refuse ? Promise.reject(new Error('connection terminated')) : server.deps.db.query<T>(sql, params)),
    }
    const events = new DownloadEvents({ db: flaky, logger: silent }, { flushMs: 3_600_000 })
    for (let i = 0; i < 3; i++) events.record({ shareId: share.id, fileId: 'f', bytes: 13, userId: null })
    await events.flush()
    expect(events.waiting).toBe(3)
    refuse = false
    events.record({ shareId: share.id, fileId: 'f', bytes: 13, userId: null })
    await events.stop()
    expect(events.waiting).toBe(0)
    expect((await stored(server.deps.db, share.id)).n).toBe(4)
  })

  it('while the database stays away, the oldest counts are dropped beyond the cap instead of growing memory without end', async () => {
    const down: Queryable = { query: () => Promise.reject(new Error('connection terminated')) }
    const events = new DownloadEvents({ db: down, logger: silent }, { flushMs: 3_600_000, batchSize: 10, maxPending: 25 })
    for (let i = 0; i < 60; i++) events.record({ shareId: 'gone', fileId: 'f', bytes: i, userId: null })
    await events.flush()
    expect(events.waiting).toBe(25)
    await events.stop()
  })
})
