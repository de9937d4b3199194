/**
 * "One link, two paths": `direct` shares are visible from their creation and served by their
 * owner's page through a link room on /rooms; `cloudCopy: false` stores nothing; one download limit,
 * one password for both paths (direct claims take the cloud path's download lease). The real server
 * over HTTP and Socket.IO on PGlite + disk.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { Ack } from '@sharesync/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiOf, uploadShare, type Api } from './support/browser-upload'
import { startTestServer, type TestServer } from './support/harness'
import { browserFetch, CookieJar, signInFlow, startOAuthServer, type LocalOAuth } from './support/oauth'
import { collect, connectRooms, nextEvent, sleep, until, type RoomsClient } from './support/rooms-client'
import { walk } from './uploads.suite'

let server: TestServer
let api: Api
let oauth: LocalOAuth
const open: RoomsClient[] = []
const client = async (headers?: Record<string, string>) => {
  const s = await connectRooms(server.url, headers ? { headers } : {})
  open.push(s)
  return s
}

beforeAll(async () => {
  oauth = await startOAuthServer()
  server = await startTestServer({
    ...oauth.env,
    UPLOAD_RATE_LIMIT: '1000/1h',
    DOWNLOAD_RATE_LIMIT: '1000/1m',
    ANON_DAILY_QUOTA: '1MiB',
    ANON_MAX_FILE_SIZE: '100MiB',
    PASSWORD_ATTEMPTS: '3/15m',
  })
  api = apiOf(server.url)
})
afterAll(async () => {
  for (const s of open) s.disconnect()
  await server?.close()
  await oauth?.stop()
})

type AnyAck = { ok: boolean; error?: { code: string; message: string; retryAfter?: number } } & Record<string, unknown>
const emit = (s: RoomsClient, event: string, payload: unknown) =>
  (s.timeout(10_000).emitWithAck as unknown as (e: string, p: unknown) => Promise<AnyAck>).call(s, event, payload)
const ok = <T extends object>(res: Ack<T> | AnyAck): T => {
  if (!res.ok) throw new Error(`${(res as AnyAck).error?.code}: ${(res as AnyAck).error?.message}`)
  return res as T
}
const code = (res: AnyAck) => (res.ok ? 'ok' : res.error?.code)

const bytesOf = (n: number) => randomBytes(n)

/** A `direct` share, created only (still uploading): its id, owner token and file ids. */
async function createDirect(extra: Record<string, unknown> = {}, sizes = [1000]) {
  const created = await api<{ id: string; ownerToken: string; direct?: boolean; cloudCopy?: boolean; files: { id: string }[] }>('/api/shares', {
    body: { files: sizes.map((size, i) => ({ name: `f${i}.bin`, size })), direct: true, ...extra },
  })
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  return created.body
}

/** Storage entries (disk) that belong to a share. */
const storedFor = (shareId: string) => walk(join(server.dataDir, 'blobs')).filter((p) => p.includes(shareId))

describe('direct shares over REST', () => {
  it('a direct share is visible from its creation, and its cloud routes answer 409 cloud_copy_not_ready until it is finalized', async () => {
    const files = [{ name: 'a.bin', bytes: bytesOf(2000) }]
    const created = await createDirect({}, [2000])
    expect(created.direct).toBe(true)
    expect(created.cloudCopy).toBe(true)
    const meta = await api<{ direct?: { cloud: string; online: boolean }; files: { id: string }[] }>(`/api/shares/${created.id}`)
    expect(meta.status).toBe(200)
    expect(meta.body.direct).toEqual({ cloud: 'uploading', online: false })
    const fileId = created.files[0]!.id
    for (const path of [`/api/shares/${created.id}/download`, `/api/shares/${created.id}/files/${fileId}/download`, `/api/shares/${created.id}/zip`]) {
      const r = await api(path, { body: {} })
      expect([r.status, r.body.error?.code], path).toEqual([409, 'cloud_copy_not_ready'])
    }
    // nothing was counted meanwhile
    const [row] = await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM download_events WHERE share_id = $1`, [created.id])
    expect(row!.n).toBe(0)
    // a non-direct upload in progress stays invisible, as before
    const plain = await api<{ id: string }>('/api/shares', { body: { files: [{ name: 'p.bin', size: 10 }] } })
    expect((await api(`/api/shares/${plain.body.id}`)).status).toBe(404)
    // once uploaded the cloud copy is ready and downloads work
    const up = await uploadShare(api, files, { direct: true })
    expect((await api<{ direct?: unknown }>(`/api/shares/${up.id}`)).body.direct).toEqual({ cloud: 'ready', online: false })
    const dl = await api<{ url: string }>(`/api/shares/${up.id}/download`, { body: {} })
    expect(dl.status).toBe(200)
    expect(Buffer.from(await (await fetch(dl.body.url)).arrayBuffer()).equals(files[0]!.bytes)).toBe(true)
  })

  it('cloudCopy:false without direct:true is refused with 400 invalid_input, and nothing is created', async () => {
    const [before] = await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM shares`)
    const r = await api('/api/shares', { body: { files: [{ name: 'x', size: 1 }], cloudCopy: false } })
    expect([r.status, r.body.error?.code]).toEqual([400, 'invalid_input'])
    const wrongType = await api('/api/shares', { body: { files: [{ name: 'x', size: 1 }], direct: 'yes' } })
    expect([wrongType.status, wrongType.body.error?.code]).toEqual([400, 'invalid_input'])
    const [after] = await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM shares`)
    expect(after!.n).toBe(before!.n)
  })

  it('cloudCopy:false charges no quota, refuses parts, complete and finalize (409 cloud_copy_off), and storage holds nothing for it', async () => {
    // 5 MiB declared: five times the anonymous daily quota of this server
    const big = 5 * 1024 * 1024
    const cloud = await api('/api/shares', { body: { files: [{ name: 'big.bin', size: big }] } })
    expect([cloud.status, cloud.body.error?.code]).toEqual([413, 'quota_exceeded'])
    const created = await createDirect({ cloudCopy: false }, [big, 10])
    expect(created.cloudCopy).toBe(false)
    const owner = { 'x-owner-token': created.ownerToken }
    const fileId = created.files[0]!.id
    const parts = await api(`/api/shares/${created.id}/files/${fileId}/parts`, { body: { partNumbers: [1] }, headers: owner })
    expect([parts.status, parts.body.error?.code]).toEqual([409, 'cloud_copy_off'])
    const listed = await api(`/api/shares/${created.id}/files/${fileId}/parts`, { method: 'GET', headers: owner })
    expect(listed.body.error?.code).toBe('cloud_copy_off')
    const complete = await api(`/api/shares/${created.id}/files/${created.files[1]!.id}/complete`, { body: { parts: [] }, headers: owner })
    expect([complete.status, complete.body.error?.code]).toEqual([409, 'cloud_copy_off'])
    const fin = await api(`/api/shares/${created.id}/finalize`, { body: {}, headers: owner })
    expect([fin.status, fin.body.error?.code]).toEqual([409, 'cloud_copy_off'])
    expect((await api<{ direct?: unknown }>(`/api/shares/${created.id}`)).body.direct).toEqual({ cloud: 'none', online: false })
    const dl = await api(`/api/shares/${created.id}/files/${fileId}/download`, { body: {} })
    expect([dl.status, dl.body.error?.code]).toEqual([409, 'cloud_copy_off'])
    expect(storedFor(created.id)).toEqual([])
    // an end-to-end encrypted link takes the same two fields
    const sealed = await api<{ id: string; cloudCopy?: boolean }>('/api/shares', {
      body: { encrypted: true, metadata: 'A'.repeat(64), files: [{ size: 4096 }], direct: true, cloudCopy: false },
    })
    expect([sealed.status, sealed.body.cloudCopy]).toEqual([201, false])
    expect((await api<{ direct?: unknown; encrypted?: boolean }>(`/api/shares/${sealed.body.id}`)).body).toMatchObject({ encrypted: true, direct: { cloud: 'none', online: false } })
    expect(storedFor(sealed.body.id)).toEqual([])
    // and the quota is untouched: a small cloud upload still fits
    const small = await api('/api/shares', { body: { files: [{ name: 's.bin', size: 1000 }] } })
    expect(small.status).toBe(201)
  })
})

describe('link rooms', () => {
  it('hosting needs the owner: a wrong or another share\'s owner token, or a share that is not direct, is refused with forbidden', async () => {
    const a = await createDirect()
    const b = await createDirect()
    const plain = await api<{ id: string; ownerToken: string }>('/api/shares', { body: { files: [{ name: 'p', size: 1 }] } })
    const h = await client()
    expect(code(await emit(h, 'link:host', { shareId: a.id }))).toBe('forbidden')
    expect(code(await emit(h, 'link:host', { shareId: a.id, ownerToken: 'x'.repeat(22) }))).toBe('forbidden')
    expect(code(await emit(h, 'link:host', { shareId: a.id, ownerToken: b.ownerToken }))).toBe('forbidden')
    expect(code(await emit(h, 'link:host', { shareId: plain.body.id, ownerToken: plain.body.ownerToken }))).toBe('forbidden')
    expect(code(await emit(h, 'link:host', { shareId: 'A'.repeat(22), ownerToken: a.ownerToken }))).toBe('share_not_found')
    const hosted = ok<{ link: { id: string; shareId: string }; peers: unknown[] }>(await emit(h, 'link:host', { shareId: a.id, ownerToken: a.ownerToken }))
    expect(hosted.link).toEqual({ id: `link-${a.id}`, shareId: a.id })
    expect(hosted.peers).toEqual([])
    // room:join cannot reach a link room
    expect(code(await emit(await client(), 'room:join', { secret: hosted.link.id.slice(0, 30) }))).toBe('room_not_found')
    expect((await api<{ direct?: unknown }>(`/api/shares/${a.id}`)).body.direct).toEqual({ cloud: 'uploading', online: true })
  })

  it('a recipient without the password, or with a wrong one, is refused; guesses are counted like the share page\'s', async () => {
    const s = await createDirect({ password: 'correct horse' })
    const r = await client()
    expect(code(await emit(r, 'link:join', { shareId: s.id }))).toBe('password_required')
    expect(code(await emit(r, 'link:join', { shareId: s.id, password: 'wrong 1' }))).toBe('password_invalid')
    expect(code(await emit(r, 'link:join', { shareId: s.id, password: 'wrong 2' }))).toBe('password_invalid')
    expect(code(await emit(r, 'link:join', { shareId: s.id, password: 'wrong 3' }))).toBe('password_invalid')
    // PASSWORD_ATTEMPTS is 3 here: the share page counts the same guesses
    expect(code(await emit(r, 'link:join', { shareId: s.id, password: 'correct horse' }))).toBe('rate_limited')
    expect((await api(`/api/shares/${s.id}`, { method: 'GET', headers: { 'x-share-password': 'correct horse' } })).body.error?.code).toBe('rate_limited')
    // another share, another budget: the right password admits
    const t = await createDirect({ password: 'battery staple' })
    expect(code(await emit(r, 'link:join', { shareId: t.id }))).toBe('password_required')
    ok(await emit(r, 'link:join', { shareId: t.id, password: 'battery staple' }))
    // a share that is not direct has no link room
    const plain = await uploadShare(api, [{ name: 'p', bytes: bytesOf(10) }])
    expect(code(await emit(r, 'link:join', { shareId: plain.id }))).toBe('forbidden')
  })

  it('a recipient sees only hosts, and may signal or relay only to a host (recipient to recipient is forbidden)', async () => {
    const s = await createDirect()
    const host = await client()
    ok(await emit(host, 'link:host', { shareId: s.id, ownerToken: s.ownerToken }))
    const a = await client()
    const aJoined = nextEvent(host, 'peer:joined')
    const joinedA = ok<{ self: { peerId: string }; hosts: { peerId: string }[]; link: { id: string } }>(await emit(a, 'link:join', { shareId: s.id }))
    expect(joinedA.hosts).toHaveLength(1)
    expect((await aJoined).peer.peerId).toBe(joinedA.self.peerId)
    const seenByA = collect(a, 'peer:joined')
    const leftSeenByA = collect(a, 'peer:left')
    const b = await client()
    const bJoined = nextEvent(host, 'peer:joined')
    const joinedB = ok<{ self: { peerId: string }; hosts: { peerId: string }[] }>(await emit(b, 'link:join', { shareId: s.id }))
    expect((await bJoined).peer.peerId).toBe(joinedB.self.peerId)
    // a recipient to a recipient: forbidden, nothing arrives
    const signalsAtB = collect(b, 'signal')
    expect(code(await emit(a, 'signal', { to: joinedB.self.peerId, data: { reset: true } }))).toBe('forbidden')
    expect(code(await emit(a, 'relay:open', { to: joinedB.self.peerId, bytes: 10 }))).toBe('forbidden')
    // a recipient to a host, and back
    const hostId = joinedA.hosts[0]!.peerId
    const atHost = nextEvent(host, 'signal')
    ok(await emit(a, 'signal', { to: hostId, data: { reset: true } }))
    expect((await atHost).from).toBe(joinedA.self.peerId)
    const atA = nextEvent(a, 'signal')
    ok(await emit(host, 'signal', { to: joinedA.self.peerId, data: { reset: true } }))
    expect((await atA).from).toBe(hostId)
    // B leaves: only the host hears it
    const bLeft = nextEvent(host, 'peer:left')
    ok(await emit(b, 'link:leave', {}))
    expect((await bLeft).peerId).toBe(joinedB.self.peerId)
    // a second host page is seen by recipients; the host's ack lists the recipients
    const second = await client()
    const hostSeen = nextEvent(a, 'peer:joined')
    const hosted = ok<{ peers: { peerId: string }[] }>(await emit(second, 'link:host', { shareId: s.id, ownerToken: s.ownerToken }))
    expect(hosted.peers.map((p) => p.peerId)).toEqual([joinedA.self.peerId])
    await hostSeen
    await sleep(100)
    expect(seenByA.map((e) => e.peer.peerId)).not.toContain(joinedB.self.peerId)
    expect(leftSeenByA.map((e) => e.peerId)).not.toContain(joinedB.self.peerId)
    expect(signalsAtB).toEqual([])
  })

  it('maxDownloads 1 serves exactly one recipient across both paths: direct claim, then cloud is busy; delivered uses it up both ways', async () => {
    const up = await uploadShare(api, [{ name: 'one.bin', bytes: bytesOf(3000) }], { direct: true, maxDownloads: 1 })
    const host = await client()
    ok(await emit(host, 'link:host', { shareId: up.id, ownerToken: up.ownerToken }))
    const a = await client()
    ok(await emit(a, 'link:join', { shareId: up.id }))
    const claimed = nextEvent(host, 'link:claimed')
    const claim = ok<{ claim: { id: string }; lease?: { token: string } }>(await emit(a, 'link:claim', {}))
    expect(claim.lease?.token).toMatch(/\./)
    const heard = await claimed
    expect(heard).toMatchObject({ linkId: `link-${up.id}`, claimId: claim.claim.id, files: null })
    // the only download is leased: the cloud path is busy for everyone else
    const cloud = await api(`/api/shares/${up.id}/download`, { body: {} })
    expect([cloud.status, cloud.body.error?.code]).toEqual([409, 'download_in_progress'])
    const b = await client()
    ok(await emit(b, 'link:join', { shareId: up.id }))
    const busy = await emit(b, 'link:claim', {})
    expect(code(busy)).toBe('download_in_progress')
    expect(busy.error?.retryAfter).toBeGreaterThan(0)
    // a recipient cannot report its own delivery
    expect(code(await emit(a, 'link:delivered', { claimId: claim.claim.id, bytes: 3000, path: 'direct' }))).toBe('forbidden')
    ok(await emit(host, 'link:delivered', { claimId: claim.claim.id, bytes: 3000, path: 'relay' }))
    // replayed: refused, nothing more counted
    expect(code(await emit(host, 'link:delivered', { claimId: claim.claim.id, bytes: 3000, path: 'direct' }))).toBe('claim_not_found')
    const [share] = await server.deps.db.query<{ downloads: number }>(`SELECT downloads FROM shares WHERE id = $1`, [up.id])
    expect(share!.downloads).toBe(1)
    // used up: both paths refuse the next recipient
    expect((await api(`/api/shares/${up.id}`)).status).toBe(404)
    expect((await api(`/api/shares/${up.id}/download`, { body: {} })).body.error?.code).toBe('share_not_found')
    expect(code(await emit(b, 'link:claim', {}))).toBe('share_not_found')
    expect(code(await emit(await client(), 'link:join', { shareId: up.id }))).toBe('share_not_found')
    // the history shows the path and the device
    const [row] = await server.deps.db.query<{ path: string; device: string; status: string; bytes: number }>(
      `SELECT path, device, status, bytes::int AS bytes FROM download_transfers WHERE id = $1`,
      [claim.claim.id],
    )
    expect(row).toEqual({ path: 'relay', device: expect.stringMatching(/·/), status: 'completed', bytes: 3000 })
  })

  it('maxDownloads 1, cloud first: a direct claim is refused while the cloud lease holds the download', async () => {
    const up = await uploadShare(api, [{ name: 'one.bin', bytes: bytesOf(1000) }], { direct: true, maxDownloads: 1 })
    const cloud = await api<{ lease?: { token: string } }>(`/api/shares/${up.id}/download`, { body: {} })
    expect(cloud.status).toBe(200)
    const host = await client()
    ok(await emit(host, 'link:host', { shareId: up.id, ownerToken: up.ownerToken }))
    const r = await client()
    ok(await emit(r, 'link:join', { shareId: up.id }))
    expect(code(await emit(r, 'link:claim', {}))).toBe('download_in_progress')
    // the holder of the cloud lease may go direct with it: still one download
    const mine = ok<{ claim: { id: string }; lease?: { token: string } }>(await emit(r, 'link:claim', { lease: cloud.body.lease!.token }))
    expect(mine.lease?.token).toBe(cloud.body.lease!.token)
    ok(await emit(host, 'link:delivered', { claimId: mine.claim.id, bytes: 1000, path: 'direct' }))
    const [share] = await server.deps.db.query<{ downloads: number }>(`SELECT downloads FROM shares WHERE id = $1`, [up.id])
    expect(share!.downloads).toBe(1)
  })

  it('a direct claim is no key to a cloud copy that is not uploaded yet (409), and a claim of another share is refused', async () => {
    const s = await createDirect({ maxDownloads: 2 })
    const host = await client()
    ok(await emit(host, 'link:host', { shareId: s.id, ownerToken: s.ownerToken }))
    const r = await client()
    ok(await emit(r, 'link:join', { shareId: s.id }))
    const claim = ok<{ claim: { id: string }; lease?: { token: string } }>(await emit(r, 'link:claim', { files: [s.files[0]!.id] }))
    const content = await fetch(`${server.url}/api/shares/${s.id}/files/${s.files[0]!.id}/content?lease=${encodeURIComponent(claim.lease!.token)}`)
    expect(content.status).toBe(409)
    expect(((await content.json()) as { error: { code: string } }).error.code).toBe('cloud_copy_not_ready')
    // a file of another share, or a made-up one
    expect(code(await emit(r, 'link:claim', { files: ['B'.repeat(22)] }))).toBe('invalid_input')
    // the host of another share cannot settle this one's claim
    const other = await createDirect()
    const otherHost = await client()
    ok(await emit(otherHost, 'link:host', { shareId: other.id, ownerToken: other.ownerToken }))
    expect(code(await emit(otherHost, 'link:delivered', { claimId: claim.claim.id, bytes: 1, path: 'direct' }))).toBe('claim_not_found')
    expect(code(await emit(otherHost, 'link:failed', { claimId: claim.claim.id, reason: 'x' }))).toBe('claim_not_found')
    // failed by its recipient: settled, the lease stays for the cloud copy, and the hosts are told (they stop sending)
    const hostsTold = nextEvent(host, 'link:claim-failed')
    ok(await emit(r, 'link:failed', { claimId: claim.claim.id, reason: 'ice failed' }))
    expect(await hostsTold).toEqual({ linkId: `link-${s.id}`, claimId: claim.claim.id })
    expect(code(await emit(host, 'link:delivered', { claimId: claim.claim.id, bytes: 1, path: 'direct' }))).toBe('claim_not_found')
    const [lease] = await server.deps.db.query<{ released: boolean; counted: boolean }>(
      `SELECT released_at IS NOT NULL AS released, counted_at IS NOT NULL AS counted FROM download_leases WHERE id = $1`,
      [claim.lease!.token.split('.')[0]],
    )
    expect(lease).toEqual({ released: false, counted: false })
    const [share] = await server.deps.db.query<{ downloads: number }>(`SELECT downloads FROM shares WHERE id = $1`, [s.id])
    expect(share!.downloads).toBe(0)
  })

  it('a recipient waits for an offline sender: claims are refused until a host is seated, and it hears the host arrive', async () => {
    const s = await createDirect()
    const r = await client()
    const joined = ok<{ hosts: unknown[] }>(await emit(r, 'link:join', { shareId: s.id }))
    expect(joined.hosts).toEqual([])
    expect(code(await emit(r, 'link:claim', {}))).toBe('conflict')
    const back = nextEvent(r, 'peer:joined')
    const host = await client()
    ok(await emit(host, 'link:host', { shareId: s.id, ownerToken: s.ownerToken }))
    expect((await back).roomId).toBe(`link-${s.id}`)
    ok(await emit(r, 'link:claim', {}))
    // the host leaves: the recipient hears it
    const gone = nextEvent(r, 'peer:left')
    host.disconnect()
    await gone
    await until(async () => (await api<{ direct?: { online: boolean } }>(`/api/shares/${s.id}`)).body.direct?.online === false, 'offline')
  })

  it('the hosts get a receipt of each cloud download of the link (path cloud, device, bytes, done); other links\' hosts get none', async () => {
    const files = [{ name: 'r.bin', bytes: bytesOf(5000) }]
    const up = await uploadShare(api, files, { direct: true })
    const host = await client()
    ok(await emit(host, 'link:host', { shareId: up.id, ownerToken: up.ownerToken }))
    const other = await createDirect()
    const otherHost = await client()
    ok(await emit(otherHost, 'link:host', { shareId: other.id, ownerToken: other.ownerToken }))
    const strangers = collect(otherHost, 'link:receipt')
    const receipts = collect(host, 'link:receipt')
    const dl = await api<{ url: string }>(`/api/shares/${up.id}/download`, { body: {} })
    const got = await fetch(dl.body.url, { headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36' } })
    expect(Buffer.from(await got.arrayBuffer()).equals(files[0]!.bytes)).toBe(true)
    await until(() => receipts.some((r) => r.receipt.status === 'done'), 'a done receipt')
    const done = receipts.find((r) => r.receipt.status === 'done')!
    expect(done).toEqual({ linkId: `link-${up.id}`, receipt: { id: expect.any(String), who: 'Linux PC · Chrome', path: 'cloud', bytes: 5000, totalBytes: 5000, status: 'done' } })
    expect(strangers).toEqual([])
  })

  it('a signed-in owner hosts with the session alone, and My shares shows the link and each download\'s path and device', async () => {
    oauth.setUser({ sub: 'dl-owner', email: 'owner@example.com', name: 'Owner', email_verified: true })
    const jar = new CookieJar()
    expect((await signInFlow(server.url, jar)).response.status).toBe(302)
    const send = (method: string, path: string, body?: unknown) =>
      browserFetch(jar, `${server.url}${path}`, { method, headers: { origin: server.url, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
    const created = (await (await send('POST', '/api/shares', { files: [{ name: 'mine.bin', size: 700 }], direct: true, cloudCopy: false })).json()) as { id: string }
    const host = await client({ cookie: jar.header() })
    ok(await emit(host, 'link:host', { shareId: created.id }))
    // the session is no key for an anonymous socket
    expect(code(await emit(await client(), 'link:host', { shareId: created.id }))).toBe('forbidden')
    const r = await client({ 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1' })
    ok(await emit(r, 'link:join', { shareId: created.id }))
    const claim = ok<{ claim: { id: string } }>(await emit(r, 'link:claim', {}))
    ok(await emit(host, 'link:delivered', { claimId: claim.claim.id, bytes: 700, path: 'direct' }))
    const mine = (await (await send('GET', '/api/me/shares')).json()) as { shares: { id: string; direct?: boolean; cloudCopy?: boolean; downloads: number }[] }
    expect(mine.shares.find((x) => x.id === created.id)).toMatchObject({ direct: true, cloudCopy: false, downloads: 1 })
    const history = (await (await send('GET', `/api/me/downloads?status=all&shareId=${created.id}`)).json()) as { items: { path?: string; device?: string; status: string; bytes: number; source: string }[] }
    expect(history.items).toEqual([expect.objectContaining({ path: 'direct', device: 'iPhone · Safari', status: 'completed', bytes: 700, source: 'sender' })])
  })

  it('hostile link payloads answer invalid_input and change nothing; a flood is rate limited, then disconnected', async () => {
    const s = await createDirect()
    const host = await client()
    ok(await emit(host, 'link:host', { shareId: s.id, ownerToken: s.ownerToken }))
    const [before] = await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM download_transfers`)
    const bad: [string, unknown][] = [
      ['link:host', { shareId: 'x'.repeat(100_000), ownerToken: s.ownerToken }],
      ['link:host', { shareId: s.id, ownerToken: 'y'.repeat(1000) }],
      ['link:host', { shareId: 42 }],
      ['link:join', { shareId: s.id, password: 'p'.repeat(257) }],
      ['link:join', { shareId: s.id, extra: 1 }],
      ['link:claim', { files: Array.from({ length: 101 }, () => 'C'.repeat(22)) }],
      ['link:claim', { files: [] }],
      ['link:claim', { lease: 'not.a.lease' }],
      ['link:delivered', { claimId: 'D'.repeat(22), bytes: -1, path: 'direct' }],
      ['link:delivered', { claimId: 'D'.repeat(22), bytes: 1, path: 'cloud' }],
      ['link:delivered', { claimId: '../../etc', bytes: 1, path: 'direct' }],
      ['link:failed', { claimId: 'D'.repeat(22), reason: 'r'.repeat(201) }],
      ['link:leave', { now: true }],
      ['link:delivered', null],
    ]
    for (const [event, payload] of bad) expect(code(await emit(host, event, payload)), event).toBe('invalid_input')
    const [after] = await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM download_transfers`)
    expect(after!.n).toBe(before!.n)
    // a flood of claims: rate_limited, then the socket is cut off
    const flooder = await client()
    ok(await emit(flooder, 'link:join', { shareId: s.id }))
    const closed = new Promise<void>((resolve) => flooder.once('disconnect', () => resolve()))
    const answers: string[] = []
    for (let i = 0; i < 400 && flooder.connected; i++) {
      flooder.emit('link:failed', { claimId: 'E'.repeat(22), reason: 'x' }, (res) => answers.push(code(res as AnyAck) ?? ''))
    }
    await closed
    expect(answers).toContain('rate_limited')
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200)
  })
})

describe('a direct claim\'s lease (DOWNLOAD_LEASE_TTL 2 s)', () => {
  let short: TestServer
  const sockets: RoomsClient[] = []
  beforeAll(async () => {
    short = await startTestServer({ DOWNLOAD_LEASE_TTL: '2s', UPLOAD_RATE_LIMIT: '1000/1h', DOWNLOAD_RATE_LIMIT: '1000/1m' })
  })
  afterAll(async () => {
    for (const s of sockets) s.disconnect()
    await short?.close()
  })

  it('lives while its recipient stays seated, and lapses once it leaves without delivery: the download is free again', async () => {
    const shortApi = apiOf(short.url)
    const up = await uploadShare(shortApi, [{ name: 'held.bin', bytes: bytesOf(500) }], { direct: true, maxDownloads: 1 })
    const host = await connectRooms(short.url)
    const r = await connectRooms(short.url)
    sockets.push(host, r)
    ok(await emit(host, 'link:host', { shareId: up.id, ownerToken: up.ownerToken }))
    ok(await emit(r, 'link:join', { shareId: up.id }))
    ok(await emit(r, 'link:claim', {}))
    // more than twice the lease's TTL: still held, because the recipient is still seated
    await sleep(4500)
    expect((await shortApi(`/api/shares/${up.id}/download`, { body: {} })).body.error?.code).toBe('download_in_progress')
    r.disconnect()
    await until(async () => (await shortApi(`/api/shares/${up.id}/download`, { body: {} })).status === 200, 'the lease to lapse', 8000)
  })
})
