/**
 * Download leases in real time (PGlite + disk store, a 2 s DOWNLOAD_LEASE_TTL): a slow link is never
 * cut off because its lease is extended while its connection lives; a dropped download lets the
 * lease lapse by itself and frees the download for others.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { curl, randomFile, sha256 } from './support/files'
import { startTestServer, type TestServer } from './support/harness'

const TTL_SECONDS = 2
const MiB = 2 ** 20

describe('download leases in real time', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ DOWNLOAD_LEASE_TTL: String(TTL_SECONDS), UPLOAD_RATE_LIMIT: '100/1h' })
  })
  afterAll(() => server?.close())

  const oneTime = async (size: number) => {
    const file = randomFile(size, `lease-${size}.bin`)
    const up = await curl(['-F', 'maxDownloads=1', '-F', `file=@${file.path}`, `${server.url}/api/upload`])
    expect(up.status).toBe(201)
    const { id } = JSON.parse(up.body) as { id: string }
    const res = await server.fetch(`/api/shares/${id}/download`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(res.status).toBe(200)
    return { id, file, url: ((await res.json()) as { url: string }).url }
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

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
    const claim = () => server.fetch(`/api/shares/${id}/download`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    // right after the drop the lease still holds (the holder may resume)…
    expect((await claim()).status).toBe(409)
    // …and with nobody connected it lapses after DOWNLOAD_LEASE_TTL: the next recipient gets the link
    await expect.poll(async () => (await claim()).status, { timeout: (TTL_SECONDS + 10) * 1000, interval: 200 }).toBe(200)
    const [row] = await server.deps.db.query<{ downloads: number }>(`SELECT downloads FROM shares WHERE id = $1`, [id])
    expect(row!.downloads).toBe(0)
  })
})
