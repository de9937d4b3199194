/**
 * Download leases in real time (PGlite + disk store, a 2 s DOWNLOAD_LEASE_TTL, a 2 s STALL_TIMEOUT):
 * a slow link is never cut off because its lease is extended while its connection lives; a dropped
 * download lets the lease lapse by itself and frees the download for others; a client that holds
 * the connection open without reading is closed and loses its lease; a share deleted mid-download
 * cuts the download, and a flood of deletes of a leased share deletes it once.
 */
import { request, type IncomingMessage } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { curl, randomFile, sha256 } from './support/files'
import { startTestServer, type TestServer } from './support/harness'

const TTL_SECONDS = 2
const STALL_SECONDS = 2
const MiB = 2 ** 20

describe('download leases in real time', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ DOWNLOAD_LEASE_TTL: String(TTL_SECONDS), STALL_TIMEOUT: `${STALL_SECONDS}s`, UPLOAD_RATE_LIMIT: '100/1h' })
  })
  afterAll(() => server?.close())

  const oneTime = async (size: number) => {
    const file = randomFile(size, `lease-${size}.bin`)
    const up = await curl(['-F', 'maxDownloads=1', '-F', `file=@${file.path}`, `${server.url}/api/upload`])
    expect(up.status).toBe(201)
    const { id, ownerToken } = JSON.parse(up.body) as { id: string; ownerToken: string }
    const res = await server.fetch(`/api/shares/${id}/download`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(res.status).toBe(200)
    return { id, ownerToken, file, url: ((await res.json()) as { url: string }).url }
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
  const claim = (id: string) => server.fetch(`/api/shares/${id}/download`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  const downloads = async (id: string) => (await server.deps.db.query<{ downloads: number }>(`SELECT downloads FROM shares WHERE id = $1`, [id]))[0]!.downloads
  /** Opens a download and reads nothing (its socket buffers fill, then the server can send no more). */
  const openWithoutReading = (url: string) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(url, { agent: false })
      req.once('error', reject)
      req.once('response', (res) => {
        res.pause()
        resolve(res)
      })
      req.end()
    })

  it('a slow link that takes three times the lease TTL is not cut off, and counts once', async () => {
    const { id, file, url } = await oneTime(24 * MiB)
    const res = await fetch(url)
    const reader = res.body!.getReader()
    const chunks: Uint8Array[] = []
    const started = Date.now()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      chunks.push(value)
      // a few MiB per TTL: slower than the lease, never stalled for a whole one
      if (Date.now() - started < 3 * TTL_SECONDS * 1000) await sleep(40)
    }
    expect(Date.now() - started).toBeGreaterThan(3 * TTL_SECONDS * 1000)
    expect(sha256(Buffer.concat(chunks))).toBe(file.sha256)
    const [row] = await server.deps.db.query<{ downloads: number }>(`SELECT downloads FROM shares WHERE id = $1`, [id])
    expect(row!.downloads).toBe(1)
  })

  it('a download whose connection drops mid-way frees the link for others once the lease lapses by itself', async () => {
    const { id, url } = await oneTime(24 * MiB)
    const abort = new AbortController()
    const res = await fetch(url, { signal: abort.signal })
    const reader = res.body!.getReader()
    let got = 0
    while (got < 4 * MiB) got += (await reader.read()).value!.length
    abort.abort()
    // right after the drop the lease still holds (the holder may resume)…
    expect((await claim(id)).status).toBe(409)
    // …and with nobody connected it lapses after DOWNLOAD_LEASE_TTL: the next recipient gets the link
    await expect.poll(async () => (await claim(id)).status, { timeout: (TTL_SECONDS + 10) * 1000, interval: 200 }).toBe(200)
    const [row] = await server.deps.db.query<{ downloads: number }>(`SELECT downloads FROM shares WHERE id = $1`, [id])
    expect(row!.downloads).toBe(0)
  })

  it('attackers: a client that opens a one-time link and never reads is closed after STALL_TIMEOUT; the link goes to the next recipient', async () => {
    const { id, url } = await oneTime(24 * MiB)
    const hostage = await openWithoutReading(url)
    expect(hostage.statusCode).toBe(200)
    // held while it is connected…
    expect((await claim(id)).status).toBe(409)
    // …until the server gives up on it (no progress for STALL_TIMEOUT) and its lease lapses
    await expect.poll(async () => (await claim(id)).status, { timeout: (STALL_SECONDS + TTL_SECONDS + 10) * 1000, interval: 250 }).toBe(200)
    expect(await downloads(id)).toBe(0)
    // the server did close it: reading now gets what the buffers held, not the whole file
    let got = 0
    hostage.on('data', (c: Buffer) => (got += c.length))
    await new Promise((r) => (hostage.once('close', r), hostage.once('error', r), hostage.resume()))
    expect(got).toBeLessThan(24 * MiB)
  })

  it('a share deleted by its owner mid-download: the download is cut before its end and counts nothing', async () => {
    const { id, ownerToken, url } = await oneTime(24 * MiB)
    const res = await fetch(url)
    const reader = res.body!.getReader()
    let got = 0
    while (got < 2 * MiB) got += (await reader.read()).value!.length
    expect((await server.fetch(`/api/shares/${id}`, { method: 'DELETE', headers: { 'x-owner-token': ownerToken } })).status).toBe(204)
    // a slow reader from here on: the next lease extension finds the share gone and cuts the response
    const outcome = await (async () => {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return 'ended'
        got += value.length
        await sleep(40)
      }
    })().catch(() => 'cut')
    expect(outcome).toBe('cut')
    expect(got).toBeLessThan(24 * MiB)
    expect(await downloads(id)).toBe(0)
    expect((await fetch(url)).status).toBe(404)
  })

  it('attackers: 20 parallel deletes of one share by its owner: deleted once, its blob gone, no error answers', async () => {
    const { id, ownerToken } = await oneTime(64 * 1024)
    const [file] = await server.deps.db.query<{ storage_key: string }>(`SELECT storage_key FROM files WHERE share_id = $1`, [id])
    let announced = 0
    const off = server.deps.events.on('shareDeleted', (e) => void (e.shareId === id && announced++))
    try {
      const statuses = await Promise.all(
        Array.from({ length: 20 }, () => server.fetch(`/api/shares/${id}`, { method: 'DELETE', headers: { 'x-owner-token': ownerToken } }).then((r) => r.status)),
      )
      expect(statuses.every((st) => st === 204 || st === 404), statuses.join(',')).toBe(true)
      expect(statuses).toContain(204)
    } finally {
      off()
    }
    expect(announced).toBe(1)
    const [row] = await server.deps.db.query<{ status: string; deleted_by: string }>(`SELECT status, deleted_by FROM shares WHERE id = $1`, [id])
    expect(row).toEqual({ status: 'deleted', deleted_by: 'owner' })
    expect(await server.deps.store.head(file!.storage_key)).toBeNull()
    expect((await claim(id)).status).toBe(404)
  })
})
