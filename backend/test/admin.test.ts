/**
 * The admin dashboard's API and live feed, on the real server over HTTP and socket.io-client, against
 * real PGlite and real PostgreSQL (disk store), with sign-in through a real OAuth2 server.
 */
import type {
  AdminEvent,
  AdminServerToClient,
  AdminShare,
  AdminUser,
  AuditEntry,
  LiveFigures,
  Page,
  PublicConfig,
  SettingsResponse,
  StatsResponse,
  UploadResponse,
} from '@sharesync/protocol'
import { ADMIN_NAMESPACE } from '@sharesync/protocol'
import { io, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_ROUTES } from '../src/admin/admin.routes'
import { startTestServer, type TestServer } from './support/harness'
import { browserFetch, CookieJar, signInFlow, startOAuthServer, type FakeGoogleUser, type LocalOAuth } from './support/oauth'
import { connectRooms, reportTransfer, sleep } from './support/rooms-client'
import { createDatabase, startPostgres, type ServiceHandle } from './support/services'

const ROOT: FakeGoogleUser = { sub: 'g-root', email: 'root@example.com', name: 'Root', email_verified: true }
const ALICE: FakeGoogleUser = { sub: 'g-alice', email: 'alice@example.com', name: 'Alice', email_verified: true }
const BOB: FakeGoogleUser = { sub: 'g-bob', email: 'bob@example.com', name: 'Bob', email_verified: true }
const CAROL: FakeGoogleUser = { sub: 'g-carol', email: 'carol@example.com', name: 'Carol', email_verified: true }

type AdminClient = Socket<AdminServerToClient, Record<string, never>>

const today = () => new Date().toISOString().slice(0, 10)
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10)

let oauth: LocalOAuth
let pg: ServiceHandle | null = null

beforeAll(async () => {
  oauth = await startOAuthServer()
})
afterAll(async () => {
  await oauth?.stop()
  await pg?.stop()
})

const DATABASES = [
  { name: 'PGlite', env: async () => ({}) },
  {
    name: 'PostgreSQL',
    env: async () => {
      pg ??= await startPostgres()
      return { DATABASE_URL: await createDatabase(pg.url, `admin_${Date.now()}`) }
    },
  },
]

describe.each(DATABASES)('admin dashboard on $name', (database) => {
  let server: TestServer
  let root: CookieJar
  let alice: CookieJar
  let bob: CookieJar
  const sockets: { close(): void }[] = []

  async function signIn(user: FakeGoogleUser): Promise<CookieJar> {
    oauth.setUser(user)
    const jar = new CookieJar()
    const { response } = await signInFlow(server.url, jar)
    if (response.status !== 302) throw new Error(`sign-in of ${user.email} answered ${response.status}`)
    return jar
  }

  /** An HTTP call as `jar` (or anonymous), JSON body in and out. */
  async function call(jar: CookieJar | null, method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {}
    if (body !== undefined) headers['content-type'] = 'application/json'
    const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }
    return jar ? browserFetch(jar, `${server.url}${path}`, init) : fetch(`${server.url}${path}`, { ...init, redirect: 'manual' })
  }
  async function json<T>(jar: CookieJar | null, method: string, path: string, body?: unknown): Promise<T> {
    const res = await call(jar, method, path, body)
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`)
    return (await res.json()) as T
  }

  /** A curl-style upload (PUT /api/upload/:name) of `size` bytes. */
  async function upload(jar: CookieJar | null, name: string, size: number): Promise<Response> {
    const init = { method: 'PUT', body: new Uint8Array(size).fill(7), headers: { 'content-type': 'application/octet-stream' } }
    return jar
      ? browserFetch(jar, `${server.url}/api/upload/${encodeURIComponent(name)}`, init)
      : fetch(`${server.url}/api/upload/${encodeURIComponent(name)}`, init)
  }
  async function uploaded(jar: CookieJar | null, name: string, size: number): Promise<UploadResponse> {
    const res = await upload(jar, name, size)
    expect(res.status, await res.clone().text()).toBe(201)
    return (await res.json()) as UploadResponse
  }
  /** One counted download: the 302 to the presigned URL. */
  async function download(id: string): Promise<number> {
    const res = await fetch(`${server.url}/api/shares/${id}/download`, { redirect: 'manual' })
    await res.body?.cancel()
    return res.status
  }

  async function connectAdmin(jar: CookieJar | null): Promise<AdminClient> {
    const socket: AdminClient = io(`${server.url}${ADMIN_NAMESPACE}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      extraHeaders: jar ? { cookie: jar.header() } : {},
    })
    sockets.push(socket)
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve())
      socket.once('connect_error', (err) => reject(err))
    })
    return socket
  }
  async function refusedAdminSocket(jar: CookieJar | null): Promise<string> {
    try {
      await connectAdmin(jar)
    } catch (err) {
      return ((err as { data?: { code?: string } }).data?.code ?? 'refused') as string
    }
    return 'connected'
  }

  beforeAll(async () => {
    server = await startTestServer({
      ...oauth.env,
      ...(await database.env()),
      ADMIN_EMAILS: 'root@example.com',
      UPLOAD_RATE_LIMIT: '1000/1h',
      MAX_FILE_SIZE: '1GiB',
    })
    root = await signIn(ROOT)
    alice = await signIn(ALICE)
    bob = await signIn(BOB)
  })
  afterAll(async () => {
    for (const s of sockets) s.close()
    await server?.close()
  })

  it('after a scripted mix of uploads, downloads and P2P reports, every total and daily figure equals what was done', async () => {
    const dashboard = await connectAdmin(root)
    const seen: AdminEvent[] = []
    dashboard.on('admin:event', (e) => seen.push(e))

    // N = 9 uploads: Alice 3, Bob 2, anonymous clients 4.
    const a = [await uploaded(alice, 'a1.bin', 1000), await uploaded(alice, 'a2.bin', 2000), await uploaded(alice, 'a3.bin', 3000)]
    const b = [await uploaded(bob, 'b1.bin', 500), await uploaded(bob, 'b2.bin', 700)]
    const anon = [
      await uploaded(null, 'n1.bin', 100),
      await uploaded(null, 'n2.bin', 200),
      await uploaded(null, 'n3.bin', 300),
      await uploaded(null, 'n4.bin', 400),
    ]
    const upBytes = 1000 + 2000 + 3000 + 500 + 700 + 100 + 200 + 300 + 400

    // M = 7 downloads: a1 x3, b1 x2, b2 x1, n1 x1.
    for (const id of [a[0]!.id, a[0]!.id, a[0]!.id, b[0]!.id, b[0]!.id, b[1]!.id, anon[0]!.id]) expect(await download(id)).toBe(302)
    const downBytes = 3 * 1000 + 2 * 500 + 700 + 100

    // K = 3 P2P transfer reports from a room (two completed, one cancelled).
    const peer = await connectRooms(server.url)
    sockets.push(peer)
    expect((await peer.emitWithAck('room:create', {})).ok).toBe(true)
    for (const report of [
      { bytes: 10_000, files: 2, ms: 1000, status: 'completed' as const },
      { bytes: 5000, files: 1, ms: 500, status: 'completed' as const },
      { bytes: 100, files: 1, ms: 50, status: 'cancelled' as const },
    ]) {
      expect((await reportTransfer(peer, report)).ok).toBe(true)
    }

    // One of Bob's uploads and its download happened three days ago (the rows are moved back in
    // time, as a clock shift would): the series must put them on that day.
    await server.deps.db.query(`UPDATE shares SET created_at = created_at - interval '3 days' WHERE id = $1`, [b[1]!.id])
    await server.deps.downloadEvents.flush()
    await server.deps.db.query(`UPDATE download_events SET at = at - interval '3 days' WHERE share_id = $1`, [b[1]!.id])

    const stats = await json<StatsResponse>(root, 'GET', `/api/admin/stats?from=${daysAgo(6)}&to=${today()}`)
    expect(stats.totals).toEqual({
      users: 3,
      disabledUsers: 0,
      admins: 1,
      activeShares: 9,
      storedBytes: upBytes,
      uploads: 9,
      uploadBytes: upBytes,
      downloads: 7,
      downloadBytes: downBytes,
      p2pTransfers: 3,
      p2pCompleted: 2,
      p2pBytes: 15_100,
      p2pRelays: 0,
      p2pRelayBytes: 0,
    })
    expect(stats.range).toEqual({ from: daysAgo(6), to: today() })
    expect(stats.series.map((d) => d.day)).toEqual([6, 5, 4, 3, 2, 1, 0].map(daysAgo))
    const byDay = new Map(stats.series.map((d) => [d.day, d]))
    expect(byDay.get(today())).toEqual({
      day: today(),
      uploads: 8,
      downloads: 6,
      bytesUp: upBytes - 700,
      bytesDown: downBytes - 700,
      p2pTransfers: 3,
      p2pBytes: 15_100,
    })
    expect(byDay.get(daysAgo(3))).toEqual({
      day: daysAgo(3),
      uploads: 1,
      downloads: 1,
      bytesUp: 700,
      bytesDown: 700,
      p2pTransfers: 0,
      p2pBytes: 0,
    })
    for (const d of [6, 5, 4, 2, 1].map(daysAgo))
      expect(byDay.get(d)).toMatchObject({ uploads: 0, downloads: 0, bytesUp: 0, bytesDown: 0, p2pTransfers: 0 })
    expect(stats.uploadsBySource).toEqual({ anonymous: { uploads: 4, bytes: 1000 }, signedIn: { uploads: 5, bytes: 7200 } })
    expect(stats.topShares.slice(0, 2).map((s) => [s.name, s.downloads, s.ownerEmail])).toEqual([
      ['a1.bin', 3, 'alice@example.com'],
      ['b1.bin', 2, 'bob@example.com'],
    ])
    // Live: the room socket is in one open room; this dashboard is connected.
    expect(stats.live).toMatchObject({ rooms: 1, peers: 1, dashboards: 1, sockets: 2, transfersInProgress: 0 })

    // The default range is the last 30 days, ending today.
    const defaults = await json<StatsResponse>(root, 'GET', '/api/admin/stats')
    expect(defaults.series).toHaveLength(30)
    expect(defaults.series.at(-1)!.day).toBe(today())

    // The open dashboard heard every share being created and downloaded.
    await expect.poll(() => seen.filter((e) => e.type === 'shareCreated').length).toBe(9)
    await expect.poll(() => seen.filter((e) => e.type === 'shareDownloaded').length).toBe(7)
    await expect.poll(() => seen.filter((e) => e.type === 'transferFinished').length).toBe(3)
    expect(seen.some((e) => e.type === 'roomOpened')).toBe(true)
    peer.close()
    await expect.poll(() => seen.some((e) => e.type === 'roomClosed')).toBe(true)
  })

  it('a non-admin gets 403 and an anonymous client 401 on every admin route, and neither can join the admin feed', async () => {
    const someId = 'A'.repeat(22)
    const bodies: Record<string, unknown> = {
      'PATCH /api/admin/users/:id/role': { role: 'admin' },
      'PATCH /api/admin/users/:id/disabled': { disabled: true },
      'PUT /api/admin/settings': (await json<SettingsResponse>(root, 'GET', '/api/admin/settings')).settings,
    }
    for (const [method, pattern] of ADMIN_ROUTES) {
      const path = pattern.replace(':id', someId)
      const body = bodies[`${method} ${pattern}`]
      const anonymous = await call(null, method, path, body)
      expect(anonymous.status, `${method} ${path} anonymous`).toBe(401)
      expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('unauthorized')
      const user = await call(alice, method, path, body)
      expect(user.status, `${method} ${path} as a user`).toBe(403)
      expect(((await user.json()) as { error: { code: string } }).error.code).toBe('forbidden')
    }
    // Nothing was changed by those attempts.
    const users = await json<Page<AdminUser>>(root, 'GET', '/api/admin/users?q=alice')
    expect(users.items[0]).toMatchObject({ email: 'alice@example.com', role: 'user', disabled: false })
    // Unknown admin paths are closed too.
    expect((await call(null, 'GET', '/api/admin/nope')).status).toBe(401)

    expect(await refusedAdminSocket(null)).toBe('unauthorized')
    expect(await refusedAdminSocket(alice)).toBe('forbidden')
  })

  it('bad input on admin routes is a 400 with a field message, never a 500', async () => {
    for (const path of [
      '/api/admin/stats?from=yesterday',
      `/api/admin/stats?from=${today()}&to=${daysAgo(3)}`,
      '/api/admin/stats?from=2020-01-01&to=2024-01-01',
      '/api/admin/shares?limit=0',
      '/api/admin/users?offset=-1',
      '/api/admin/shares?status=weird',
    ]) {
      const res = await call(root, 'GET', path)
      expect(res.status, path).toBe(400)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_input')
    }
    const current = (await json<SettingsResponse>(root, 'GET', '/api/admin/settings')).settings
    for (const body of [
      {},
      { ...current, user: { ...current.user, maxFileSize: -1 } },
      { ...current, defaultExpiry: current.user.maxExpiry + 1 },
      { ...current, extra: 1 },
    ]) {
      expect((await call(root, 'PUT', '/api/admin/settings', body)).status).toBe(400)
    }
    expect((await call(root, 'PATCH', '/api/admin/users/not-an-id/disabled', { disabled: true })).status).toBe(400)
    expect((await call(root, 'PATCH', `/api/admin/users/${'x'.repeat(20)}/disabled`, { disabled: 'yes' })).status).toBe(400)
    expect((await call(root, 'PATCH', `/api/admin/users/${'x'.repeat(20)}/disabled`, { disabled: true })).status).toBe(404)
    expect((await call(root, 'DELETE', '/api/admin/shares/nope')).status).toBe(404)
  })

  it('shares and users are listed newest first, searchable and paginated', async () => {
    const page1 = await json<Page<AdminShare>>(root, 'GET', '/api/admin/shares?limit=4')
    const page2 = await json<Page<AdminShare>>(root, 'GET', '/api/admin/shares?limit=4&offset=4')
    expect(page1.total).toBe(9)
    expect(page1.items).toHaveLength(4)
    expect(page2.items).toHaveLength(4)
    expect(new Set([...page1.items, ...page2.items].map((s) => s.id)).size).toBe(8)
    expect(page1.items[0]!.name).toBe('n4.bin')

    const byName = await json<Page<AdminShare>>(root, 'GET', '/api/admin/shares?q=a2.bin')
    expect(byName.items.map((s) => [s.name, s.ownerEmail, s.status, s.anonymous])).toEqual([
      ['a2.bin', 'alice@example.com', 'active', false],
    ])
    const byOwner = await json<Page<AdminShare>>(root, 'GET', '/api/admin/shares?q=bob%40example')
    expect(byOwner.total).toBe(2)
    const byId = await json<Page<AdminShare>>(root, 'GET', `/api/admin/shares?q=${byName.items[0]!.id}`)
    expect(byId.items.map((s) => s.name)).toEqual(['a2.bin'])
    // % and _ are literal in a search, not wildcards.
    expect((await json<Page<AdminShare>>(root, 'GET', '/api/admin/shares?q=%25')).total).toBe(0)

    const users = await json<Page<AdminUser>>(root, 'GET', '/api/admin/users?limit=2')
    expect(users.total).toBe(3)
    expect(users.items).toHaveLength(2)
    const alices = await json<Page<AdminUser>>(root, 'GET', '/api/admin/users?q=ALICE')
    expect(alices.items.map((u) => [u.email, u.shares, u.storedBytes])).toEqual([['alice@example.com', 3, 6000]])
  })

  it('an admin deletes a share: its blob is removed, its link answers 404, and the audit log shows it', async () => {
    const share = await uploaded(alice, 'to-delete.txt', 321)
    const [file] = await server.deps.db.query<{ storage_key: string }>(`SELECT storage_key FROM files WHERE share_id = $1`, [share.id])
    expect(await server.deps.store.head(file!.storage_key)).toEqual({ size: 321 })

    expect((await call(root, 'DELETE', `/api/admin/shares/${share.id}`)).status).toBe(204)
    expect(await server.deps.store.head(file!.storage_key)).toBeNull()
    expect(await download(share.id)).toBe(404)
    expect((await call(root, 'DELETE', `/api/admin/shares/${share.id}`)).status).toBe(404)

    const audit = await json<Page<AuditEntry>>(root, 'GET', '/api/admin/audit')
    expect(audit.items[0]).toMatchObject({
      action: 'share.delete',
      targetType: 'share',
      targetId: share.id,
      actorEmail: 'root@example.com',
    })
    const listed = await json<Page<AdminShare>>(root, 'GET', `/api/admin/shares?q=${share.id}`)
    expect(listed.items[0]!.status).toBe('deleted')
  })

  it("a disabled user's session stops at once, their links answer 404 and they cannot sign in again; enabling restores them", async () => {
    const carol = await signIn(CAROL)
    const link = await uploaded(carol, 'carol.txt', 42)
    const carolId = ((await (await browserFetch(carol, `${server.url}/api/me`)).json()) as { id: string }).id
    expect(await download(link.id)).toBe(302)

    const res = await call(root, 'PATCH', `/api/admin/users/${carolId}/disabled`, { disabled: true })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ email: 'carol@example.com', disabled: true })

    // The very next request of her session is anonymous; her sessions are gone from the database.
    expect((await browserFetch(carol, `${server.url}/api/me`)).status).toBe(401)
    expect(await server.deps.db.query(`SELECT sid FROM sessions WHERE user_id = $1`, [carolId])).toHaveLength(0)
    // Her links look like any dead link.
    expect(await download(link.id)).toBe(404)
    expect((await fetch(`${server.url}/api/shares/${link.id}`)).status).toBe(404)
    // Google sign-in is refused: back to the app with the reason, and no session.
    oauth.setUser(CAROL)
    const jar = new CookieJar()
    const again = await signInFlow(server.url, jar)
    expect(again.landedOn).toBe('/?signin_error=account_disabled')
    expect((await browserFetch(jar, `${server.url}/api/me`)).status).toBe(401)
    // An admin cannot disable themself.
    const rootId = ((await (await browserFetch(root, `${server.url}/api/me`)).json()) as { id: string }).id
    expect((await call(root, 'PATCH', `/api/admin/users/${rootId}/disabled`, { disabled: true })).status).toBe(403)

    expect((await call(root, 'PATCH', `/api/admin/users/${carolId}/disabled`, { disabled: false })).status).toBe(200)
    expect(await download(link.id)).toBe(302)
    expect((await signInFlow(server.url, new CookieJar())).response.status).toBe(302)

    const audit = await json<Page<AuditEntry>>(root, 'GET', '/api/admin/audit?limit=2')
    expect(audit.items.map((e) => [e.action, e.targetId])).toEqual([
      ['user.enable', carolId],
      ['user.disable', carolId],
    ])
  })

  it('promote and demote: the role applies on the next request and to the admin feed, and is audited', async () => {
    const aliceId = ((await (await browserFetch(alice, `${server.url}/api/me`)).json()) as { id: string }).id
    expect((await call(root, 'PATCH', `/api/admin/users/${aliceId}/role`, { role: 'admin' })).status).toBe(200)
    expect((await call(alice, 'GET', '/api/admin/stats')).status).toBe(200)
    const feed = await connectAdmin(alice)
    const closed = new Promise<string>((resolve) => feed.once('disconnect', (reason) => resolve(reason)))

    expect((await call(root, 'PATCH', `/api/admin/users/${aliceId}/role`, { role: 'user' })).status).toBe(200)
    expect((await call(alice, 'GET', '/api/admin/stats')).status).toBe(403)
    // Her open dashboard is closed by the server at once.
    expect(await closed).toBe('io server disconnect')
    expect(await refusedAdminSocket(alice)).toBe('forbidden')

    const audit = await json<Page<AuditEntry>>(root, 'GET', '/api/admin/audit?limit=2')
    expect(audit.items.map((e) => [e.action, e.details.role])).toEqual([
      ['user.role', 'user'],
      ['user.role', 'admin'],
    ])
  })

  it('a setting changed through the admin API takes effect on the next request (size, anonymous uploads, rate, expiry, quota), /api/config shows it, and it is audited', async () => {
    const before = await json<SettingsResponse>(root, 'GET', '/api/admin/settings')
    expect(before.settings).toEqual(before.defaults)
    const feed = await connectAdmin(root)
    const audited: AdminEvent[] = []
    feed.on('admin:event', (e) => e.type === 'audit' && audited.push(e))

    const lowered = {
      ...before.settings,
      user: { ...before.settings.user, maxFileSize: 1000 },
      anonymous: { ...before.settings.anonymous, maxFileSize: 1000 },
    }
    const saved = await json<SettingsResponse>(root, 'PUT', '/api/admin/settings', lowered)
    expect(saved.settings.user.maxFileSize).toBe(1000)
    expect(saved.updatedBy).toBe('root@example.com')

    const tooBig = await upload(alice, 'big.bin', 1001)
    expect(tooBig.status).toBe(413)
    expect(((await tooBig.json()) as { error: { code: string } }).error.code).toBe('too_large')
    expect((await upload(alice, 'ok.bin', 1000)).status).toBe(201)
    // Browser uploads are checked against the same live limit.
    const browser = await call(alice, 'POST', '/api/shares', { files: [{ name: 'big.bin', size: 5000, type: 'application/octet-stream' }] })
    expect(browser.status).toBe(413)
    expect((await json<PublicConfig>(null, 'GET', '/api/config')).limits.user.maxFileSize).toBe(1000)

    await json(root, 'PUT', '/api/admin/settings', { ...lowered, allowAnonymousUploads: false })
    const anonymous = await upload(null, 'anon.bin', 10)
    expect(anonymous.status).toBe(401)
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('anonymous_uploads_disabled')
    expect((await json<PublicConfig>(null, 'GET', '/api/config')).anonymousUploads).toBe(false)

    // Upload rate limit: two more uploads per hour for Bob, then 429 with Retry-After.
    await json(root, 'PUT', '/api/admin/settings', { ...lowered, uploadRateLimit: { points: 4, seconds: 3600 } })
    const results = [] as number[]
    for (let i = 0; i < 3; i++) results.push((await upload(bob, `r${i}.bin`, 10)).status)
    // Bob already made 2 uploads in this window: the 3rd of these is his 5th.
    expect(results).toEqual([201, 201, 429])

    // Expiry and daily quota follow the settings too.
    await json(root, 'PUT', '/api/admin/settings', { ...lowered, defaultExpiry: 3600, user: { ...lowered.user, maxExpiry: 7200 } })
    const tooLong = await browserFetch(alice, `${server.url}/api/upload/x.bin?expiresIn=7201`, { method: 'PUT', body: new Uint8Array(10) })
    expect(tooLong.status).toBe(400)
    expect(
      (await browserFetch(alice, `${server.url}/api/upload/x.bin?expiresIn=7200`, { method: 'PUT', body: new Uint8Array(10) })).status,
    ).toBe(201)
    // A daily quota of one byte: whatever Alice stored today, the next upload passes it.
    await json(root, 'PUT', '/api/admin/settings', { ...lowered, user: { ...lowered.user, dailyQuota: 1 } })
    const overQuota = await upload(alice, 'q.bin', 10)
    expect(overQuota.status).toBe(413)
    expect(((await overQuota.json()) as { error: { code: string } }).error.code).toBe('quota_exceeded')

    // Back to the environment's defaults: uploads work again.
    await json(root, 'PUT', '/api/admin/settings', before.defaults)
    expect((await upload(null, 'anon.bin', 2000)).status).toBe(201)

    const audit = await json<Page<AuditEntry>>(root, 'GET', '/api/admin/audit?limit=6')
    expect(audit.items.map((e) => e.action)).toEqual(Array(6).fill('settings.update'))
    expect(audit.items[5]!.details).toEqual({
      changed: {
        'user.maxFileSize': { from: before.settings.user.maxFileSize, to: 1000 },
        'anonymous.maxFileSize': { from: before.settings.anonymous.maxFileSize, to: 1000 },
      },
    })
    await expect.poll(() => audited.length).toBe(6)
  })

  // Two instances need a shared database server: PostgreSQL (a PGlite directory has one owner).
  if (database.name === 'PostgreSQL')
    it('a second instance on the same database applies a saved setting within about a second', async () => {
      const url = (server.deps.config.database as { url: string }).url
      const other = await startTestServer({ DATABASE_URL: url, MAX_FILE_SIZE: '1GiB' })
      try {
        expect((await fetch(`${other.url}/api/upload/x.bin`, { method: 'PUT', body: new Uint8Array(600) })).status).toBe(201)
        const current = (await json<SettingsResponse>(root, 'GET', '/api/admin/settings')).settings
        await json(root, 'PUT', '/api/admin/settings', { ...current, anonymous: { ...current.anonymous, maxFileSize: 500 } })
        await sleep(1100)
        expect((await fetch(`${other.url}/api/upload/x.bin`, { method: 'PUT', body: new Uint8Array(600) })).status).toBe(413)
        await json(root, 'PUT', '/api/admin/settings', current)
      } finally {
        await other.close()
      }
    })

  it('live figures: GET /api/admin/live and the feed count open rooms, peers and dashboards', async () => {
    const a = await connectRooms(server.url)
    const b = await connectRooms(server.url)
    sockets.push(a, b)
    const created = await a.emitWithAck('room:create', {})
    if (!created.ok) throw new Error('room:create failed')
    expect((await b.emitWithAck('room:join', { code: created.room.code })).ok).toBe(true)
    expect((await a.emitWithAck('transfer:started', { id: 'live-figures-1', bytes: 1000, files: 1 })).ok).toBe(true)
    const live = await json<LiveFigures>(root, 'GET', '/api/admin/live')
    expect(live).toMatchObject({ rooms: 1, peers: 2, transfersInProgress: 1 })

    const feed = await connectAdmin(root)
    const first = await new Promise<LiveFigures>((resolve) => feed.once('admin:live', resolve))
    expect(first).toMatchObject({ rooms: 1, peers: 2, transfersInProgress: 1 })
    a.close()
    b.close()
  })

  it('a one-time share whose download happened is listed as used up, not active; the status filter and the active count agree', async () => {
    const before = await json<{ totals: { activeShares: number } }>(root, 'GET', '/api/admin/stats')
    const res = await browserFetch(alice, `${server.url}/api/upload/once.bin?maxDownloads=1`, {
      method: 'PUT',
      body: new Uint8Array(1234).fill(1),
    })
    expect(res.status).toBe(201)
    const share = (await res.json()) as UploadResponse
    const listed = async () => (await json<Page<AdminShare>>(root, 'GET', `/api/admin/shares?q=${share.id}`)).items[0]!
    expect((await listed()).status).toBe('active')
    // The one download, followed to its last byte (the app streams limited shares under a lease).
    const got = await fetch(`${server.url}/api/shares/${share.id}/download`)
    expect(got.status).toBe(200)
    expect((await got.arrayBuffer()).byteLength).toBe(1234)
    expect(await listed()).toMatchObject({ status: 'used_up', downloads: 1, maxDownloads: 1 })
    const usedUp = await json<Page<AdminShare>>(root, 'GET', '/api/admin/shares?status=used_up')
    expect(usedUp.items.map((s) => s.id)).toContain(share.id)
    const active = await json<Page<AdminShare>>(root, 'GET', '/api/admin/shares?status=active&limit=100')
    expect(active.items.map((s) => s.id)).not.toContain(share.id)
    const after = await json<{ totals: { activeShares: number } }>(root, 'GET', '/api/admin/stats')
    expect(after.totals.activeShares).toBe(before.totals.activeShares)
  })
})
