/**
 * "One link, two paths" on S3: an unlimited `direct` share's cloud downloads are streamed by the app
 * (its own signed URL, under the download monitor), so the sender's page gets live receipts on
 * every store; a plain unlimited share keeps its presigned URL straight to S3. The real server over
 * HTTP and Socket.IO on PGlite + s3rver.
 */
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import type { Ack, LinkReceipt } from '@sharesync/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UrlSigner } from '../src/storage/url-signer'
import { apiOf, uploadShare, type Api } from './support/browser-upload'
import { startTestServer, type TestServer } from './support/harness'
import { collect, connectRooms, until, type RoomsClient } from './support/rooms-client'
import { startS3, type ServiceHandle } from './support/services'

let s3: ServiceHandle & { env: Record<string, string> }
let server: TestServer
let api: Api
const open: RoomsClient[] = []

beforeAll(async () => {
  s3 = await startS3()
  server = await startTestServer({
    ...s3.env,
    UPLOAD_RATE_LIMIT: '1000/1h',
    DOWNLOAD_RATE_LIMIT: '1000/1m',
    ANON_DAILY_QUOTA: '100MiB',
    ANON_MAX_FILE_SIZE: '100MiB',
    // progress is reported every STALL_TIMEOUT / 4 (here 1 s)
    STALL_TIMEOUT: '4s',
  })
  api = apiOf(server.url)
})
afterAll(async () => {
  for (const s of open) s.disconnect()
  await server?.close()
  await s3?.stop()
})

type AnyAck = { ok: boolean; error?: { code: string; message: string } } & Record<string, unknown>
const emit = (s: RoomsClient, event: string, payload: unknown) =>
  (s.timeout(10_000).emitWithAck as unknown as (e: string, p: unknown) => Promise<AnyAck>).call(s, event, payload)
const ok = <T extends object>(res: Ack<T> | AnyAck): T => {
  if (!res.ok) throw new Error(`${(res as AnyAck).error?.code}: ${(res as AnyAck).error?.message}`)
  return res as T
}
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36'

/** A host socket seated in the share's link room, and the receipts it hears. */
async function seatHost(up: { id: string; ownerToken: string }): Promise<{ link: string; receipts: { linkId: string; receipt: LinkReceipt }[] }> {
  const host = await connectRooms(server.url)
  open.push(host)
  ok(await emit(host, 'link:host', { shareId: up.id, ownerToken: up.ownerToken }))
  return { link: `link-${up.id}`, receipts: collect(host, 'link:receipt') }
}

/** Reads a response body chunk by chunk; `pause` runs once after the first chunk. */
async function readAll(res: Response, pause: () => Promise<void>): Promise<Buffer> {
  const chunks: Buffer[] = []
  const reader = res.body!.getReader()
  for (let first = true; ; first = false) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(Buffer.from(value))
    if (first) await pause()
  }
  return Buffer.concat(chunks)
}

describe('direct links on S3', () => {
  it("the sender's page gets live receipts (who, path cloud, progress, done) of a cloud download from S3, whose bytes are identical", async () => {
    // larger than loopback's socket buffers, so the download is still running while the reader pauses
    const bytes = randomBytes(16 * 1024 * 1024)
    const up = await uploadShare(api, [{ name: 'big.bin', bytes }], { direct: true })
    const { link, receipts } = await seatHost(up)
    const dl = await api<{ url: string }>(`/api/shares/${up.id}/download`, { body: {} })
    expect(dl.status).toBe(200)
    // the app's own URL, not S3's: the server sees the bytes
    expect(dl.body.url.startsWith(`${server.url}/api/shares/${up.id}/files/`)).toBe(true)
    const res = await fetch(dl.body.url, { headers: { 'user-agent': CHROME } })
    expect(res.status).toBe(200)
    const got = await readAll(res, () => until(() => receipts.some((r) => r.receipt.status === 'active' && r.receipt.bytes < bytes.length), 'a progress receipt', 10_000))
    expect(got.equals(bytes)).toBe(true)
    await until(() => receipts.some((r) => r.receipt.status === 'done'), 'a done receipt')
    const active = receipts.find((r) => r.receipt.status === 'active')!
    expect(active).toEqual({ linkId: link, receipt: { id: expect.any(String), who: 'Linux PC · Chrome', path: 'cloud', bytes: expect.any(Number), totalBytes: bytes.length, status: 'active' } })
    expect(receipts.at(-1)).toEqual({ linkId: link, receipt: { ...active.receipt, bytes: bytes.length, status: 'done' } })
    // the same download in the owner's history (My shares): one completed cloud transfer, counted once
    const rows = await server.deps.db.query<{ status: string; bytes: string | number; source: string }>(`SELECT status, bytes, source FROM download_transfers WHERE share_id = $1`, [up.id])
    expect(rows.map((r) => [r.status, Number(r.bytes), r.source])).toEqual([['completed', bytes.length, 's3']])
  })

  it('a Range request of a direct share on S3 gets 206 and exactly those bytes, also through the 302 of GET', async () => {
    const bytes = randomBytes(100_000)
    const up = await uploadShare(api, [{ name: 'r.bin', bytes }], { direct: true })
    const { receipts } = await seatHost(up)
    const redirect = await fetch(`${server.url}/api/shares/${up.id}/download`, { redirect: 'manual' })
    expect(redirect.status).toBe(302)
    const url = redirect.headers.get('location')!
    expect(url.startsWith(server.url)).toBe(true)
    const part = await fetch(url, { headers: { range: 'bytes=1000-1999' } })
    expect([part.status, part.headers.get('content-range'), part.headers.get('accept-ranges')]).toEqual([206, `bytes 1000-1999/${bytes.length}`, 'bytes'])
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(1000, 2000))).toBe(true)
    const tail = await fetch(url, { headers: { range: 'bytes=99000-' } })
    expect(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(99_000))).toBe(true)
    const outside = await fetch(url, { headers: { range: 'bytes=200000-' } })
    expect([outside.status, ((await outside.json()) as AnyAck).error?.code]).toEqual([416, 'range_not_satisfiable'])
    await until(() => receipts.filter((r) => r.receipt.status === 'done').length === 2, 'a receipt per range')
    expect(receipts.filter((r) => r.receipt.status === 'done').map((r) => r.receipt.bytes).sort((x, y) => x - y)).toEqual([2000, bytes.length])
  })

  it('a blob cut short in storage cuts the response (never a whole-looking file), and the sender hears failed', async () => {
    const bytes = randomBytes(300_000)
    const up = await uploadShare(api, [{ name: 'cut.bin', bytes }], { direct: true })
    const { receipts } = await seatHost(up)
    const [file] = await server.deps.db.query<{ storage_key: string }>(`SELECT storage_key FROM files WHERE share_id = $1`, [up.id])
    await server.deps.store.put(file!.storage_key, Readable.from([bytes.subarray(0, 200_000)]), { contentType: 'application/octet-stream' })
    const dl = await api<{ url: string }>(`/api/shares/${up.id}/download`, { body: {} })
    const res = await fetch(dl.body.url)
    expect([res.status, res.headers.get('content-length')]).toEqual([200, String(bytes.length)])
    await expect(res.arrayBuffer()).rejects.toThrow()
    await until(() => receipts.some((r) => r.receipt.status === 'failed'), 'a failed receipt')
    expect(receipts.some((r) => r.receipt.status === 'done')).toBe(false)
    // cut because storage fell short, not closed later as a stalled connection
    const rows = await server.deps.db.query<{ status: string }>(`SELECT status FROM download_transfers WHERE share_id = $1`, [up.id])
    expect(rows.map((r) => r.status)).toEqual(['failed'])
  })

  it("a plain unlimited share on S3 still answers a presigned URL straight to S3 (the app streams none of it)", async () => {
    const bytes = randomBytes(5000)
    const up = await uploadShare(api, [{ name: 'p.bin', bytes }])
    const dl = await api<{ url: string }>(`/api/shares/${up.id}/download`, { body: {} })
    expect(dl.status).toBe(200)
    expect(new URL(dl.body.url).origin).toBe(new URL(s3.env.S3_ENDPOINT!).origin)
    expect(Buffer.from(await (await fetch(dl.body.url)).arrayBuffer()).equals(bytes)).toBe(true)
    const [row] = await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM download_transfers WHERE share_id = $1`, [up.id])
    expect(row!.n).toBe(0)
  })

  it("a forged, re-aimed, expired or malformed signed URL is refused with a JSON error and sends no byte; a deleted share's URL is dead at once", async () => {
    const a = await uploadShare(api, [{ name: 'a.bin', bytes: randomBytes(1000) }, { name: 'b.bin', bytes: randomBytes(1000) }], { direct: true })
    const [fa, fb] = a.files.map((f) => f.id)
    const dl = await api<{ url: string }>(`/api/shares/${a.id}/files/${fa}/download`, { body: {} })
    const signed = new URL(dl.body.url)
    const exp = signed.searchParams.get('exp')!
    const sig = signed.searchParams.get('sig')!
    const content = (shareId: string, fileId: string, query: string) => fetch(`${server.url}/api/shares/${shareId}/files/${fileId}/content?${query}`)
    const expired = Math.floor(Date.now() / 1000) - 10
    const expiredSig = new UrlSigner(server.deps.config.sessionSecret).sign(['FILE', a.id, fa!, expired])
    const cases: [string, Promise<Response>, number, string][] = [
      ['a forged signature', content(a.id, fa!, `exp=${exp}&sig=${'A'.repeat(43)}`), 403, 'signature_invalid'],
      ['another file of the share', content(a.id, fb!, `exp=${exp}&sig=${sig}`), 403, 'signature_invalid'],
      ['a later expiry', content(a.id, fa!, `exp=${Number(exp) + 3600}&sig=${sig}`), 403, 'signature_invalid'],
      ['an expired signature', content(a.id, fa!, `exp=${expired}&sig=${expiredSig}`), 403, 'signature_invalid'],
      ['a non-numeric expiry', content(a.id, fa!, `exp=soon&sig=${sig}`), 400, 'invalid_input'],
      ['a huge signature', content(a.id, fa!, `exp=${exp}&sig=${'s'.repeat(10_000)}`), 400, 'invalid_input'],
      ['no access at all', content(a.id, fa!, ''), 400, 'invalid_input'],
      ['a zip signature', fetch(`${server.url}/api/shares/${a.id}/zip/content?exp=${exp}&sig=${sig}`), 403, 'signature_invalid'],
    ]
    for (const [what, answer, status, code] of cases) {
      const res = await answer
      expect([res.status, ((await res.json()) as AnyAck).error?.code], what).toEqual([status, code])
    }
    expect((await fetch(dl.body.url)).status).toBe(200)
    expect((await api(`/api/shares/${a.id}`, { method: 'DELETE', headers: { 'x-owner-token': a.ownerToken } })).status).toBe(204)
    const gone = await fetch(dl.body.url)
    expect([gone.status, ((await gone.json()) as AnyAck).error?.code]).toEqual([404, 'share_not_found'])
    const [row] = await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM download_transfers WHERE share_id = $1`, [a.id])
    expect(row!.n).toBe(1)
  })
})
