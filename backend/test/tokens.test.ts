/**
 * Personal API tokens against the real server and database: made, listed and revoked in the session,
 * used as `Authorization: Bearer`, held to their scopes, refused when revoked or expired, audited,
 * never logged; a cookie never passes as a token and a token never needs the origin check. On the
 * Socket.IO namespaces a token in the auth payload opens a P2P room and sends as its user, held to
 * the namespace's scope (/rooms: upload, /account: read, /admin: admin), and a revoked token's
 * sockets close at once.
 */
import {
  ACCOUNT_NAMESPACE,
  ADMIN_NAMESPACE,
  ROOMS_NAMESPACE,
  type AuditEntry,
  type ClientToServer,
  type CreatedToken,
  type MySharesResponse,
  type Page,
  type ServerToClient,
  type TokensResponse,
  type UploadResponse,
} from '@sharesync/protocol'
import { io, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { p2pRepo } from '../src/db/p2p.repo'
import { startTestServer, type TestServer } from './support/harness'
import { captureLogs } from './support/logs'
import { browserFetch, CookieJar, signInFlow, startOAuthServer, type FakeGoogleUser, type LocalOAuth } from './support/oauth'
import { connectRooms, reportTransfer, until } from './support/rooms-client'

const ALICE: FakeGoogleUser = { sub: 'g-alice', email: 'alice@example.com', name: 'Alice', email_verified: true }
const BOB: FakeGoogleUser = { sub: 'g-bob', email: 'bob@example.com', name: 'Bob', email_verified: true }
const ADMIN: FakeGoogleUser = { sub: 'g-admin', email: 'admin@example.com', name: 'Admin', email_verified: true }

const logs = captureLogs()
let oauth: LocalOAuth
let server: TestServer
let alice: CookieJar
let bob: CookieJar
let admin: CookieJar
const secrets: string[] = []

async function signIn(user: FakeGoogleUser): Promise<CookieJar> {
  oauth.setUser(user)
  const jar = new CookieJar()
  expect((await signInFlow(server.url, jar)).response.status).toBe(302)
  return jar
}

/** A same-origin JSON request of the web app (session cookie). */
const inApp = (jar: CookieJar, method: string, path: string, body?: unknown) =>
  browserFetch(jar, `${server.url}${path}`, {
    method,
    headers: { origin: server.url, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })

async function makeToken(jar: CookieJar, body: { name: string; scopes: string[]; expiresInDays: number | null }): Promise<CreatedToken> {
  const res = await inApp(jar, 'POST', '/api/me/tokens', body)
  expect(res.status).toBe(201)
  const created = (await res.json()) as CreatedToken
  secrets.push(created.token)
  return created
}

/** A script's request: the token, no cookies. */
const withToken = (token: string, method: string, path: string, init: { body?: BodyInit; headers?: Record<string, string> } = {}) =>
  fetch(`${server.url}${path}`, { method, body: init.body, headers: { authorization: `Bearer ${token}`, ...init.headers } })

const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code
const upload = (token: string, name: string, bytes: number) =>
  withToken(token, 'PUT', `/api/upload/${name}`, { body: 'x'.repeat(bytes), headers: { 'content-type': 'text/plain' } })
const liveTokens = async (userEmail: string) =>
  Number(
    (
      await server.deps.db.query<{ n: number }>(
        `SELECT count(*)::int4 AS n FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.email = $1 AND t.revoked_at IS NULL`,
        [userEmail],
      )
    )[0]!.n,
  )

beforeAll(async () => {
  oauth = await startOAuthServer()
  server = await startTestServer(
    { ...oauth.env, ANON_MAX_FILE_SIZE: '1000', MAX_FILE_SIZE: '100000', ADMIN_EMAILS: 'admin@example.com', LOG_LEVEL: 'debug', ROOM_CREATE_RATE_LIMIT: '1000/1h', ROOM_JOIN_RATE_LIMIT: '1000/1m' },
    { logger: logs.logger },
  )
  alice = await signIn(ALICE)
  bob = await signIn(BOB)
  admin = await signIn(ADMIN)
})
afterAll(async () => {
  await server?.close()
  await oauth?.stop()
})

describe('API tokens: made in the session, shown once, stored hashed', () => {
  it('a new token is answered once with its secret; the list and the database never hold the secret', async () => {
    const created = await makeToken(alice, { name: 'laptop script', scopes: ['upload', 'read'], expiresInDays: 30 })
    expect(created.token).toMatch(/^sst_[A-Za-z0-9_-]{16}_[A-Za-z0-9_-]{43}$/)
    expect(created.token.startsWith(created.prefix)).toBe(true)
    expect(Date.parse(created.expiresAt!) - Date.now()).toBeGreaterThan(29 * 86_400_000)

    const list = (await (await inApp(alice, 'GET', '/api/me/tokens')).json()) as TokensResponse
    expect(list.tokens.map((t) => t.id)).toContain(created.id)
    expect(JSON.stringify(list)).not.toContain(created.token.slice(-43))

    const rows = await server.deps.db.query<Record<string, unknown>>(`SELECT * FROM api_tokens WHERE id = $1`, [created.id])
    expect(JSON.stringify(rows)).not.toContain(created.token.slice(-43))
    expect(rows[0]!.secret_hash).toMatch(/^[0-9a-f]{64}$/)
  })

  it('creating and revoking a token are in the admin audit log', async () => {
    const created = await makeToken(alice, { name: 'audited', scopes: ['read'], expiresInDays: null })
    expect((await inApp(alice, 'DELETE', `/api/me/tokens/${created.id}`)).status).toBe(204)
    const audit = (await (await inApp(admin, 'GET', '/api/admin/audit?limit=10')).json()) as Page<AuditEntry>
    const mine = audit.items.filter((e) => e.targetId === created.id)
    expect(mine.map((e) => e.action).sort()).toEqual(['token.create', 'token.revoke'])
    expect(mine.every((e) => e.actorEmail === ALICE.email && e.targetType === 'token' && e.details.name === 'audited')).toBe(true)
  })

  it('without a session there are no tokens to list or make (401)', async () => {
    expect((await fetch(`${server.url}/api/me/tokens`)).status).toBe(401)
    const res = await fetch(`${server.url}/api/me/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', scopes: ['read'], expiresInDays: 1 }) })
    expect(res.status).toBe(401)
  })
})

describe('scopes', () => {
  it('an upload-only token uploads (with the user\'s limits, owned by the user) but cannot list or delete', async () => {
    const { token } = await makeToken(alice, { name: 'sharex', scopes: ['upload'], expiresInDays: 1 })
    // 5000 bytes: over the anonymous limit (1000), under the user's (100000).
    const res = await upload(token, 'shot.png', 5000)
    expect(res.status).toBe(201)
    const share = (await res.json()) as UploadResponse

    const list = await withToken(token, 'GET', '/api/me/shares')
    expect(list.status).toBe(403)
    expect(await errorCode(list)).toBe('token_scope_missing')
    for (const path of [`/api/shares/${share.id}`, `/api/me/shares/${share.id}`]) {
      const del = await withToken(token, 'DELETE', path)
      expect(del.status, path).toBe(403)
      expect(await errorCode(del)).toBe('token_scope_missing')
    }
    // still there, and Alice's
    const mine = (await (await inApp(alice, 'GET', '/api/me/shares')).json()) as MySharesResponse
    expect(mine.shares.map((s) => s.id)).toContain(share.id)
  })

  it('a read + delete token lists the user\'s shares and deletes one; it cannot upload', async () => {
    const uploader = await makeToken(alice, { name: 'up', scopes: ['upload'], expiresInDays: 1 })
    const share = (await (await upload(uploader.token, 'a.txt', 10)).json()) as UploadResponse
    const { token } = await makeToken(alice, { name: 'cleaner', scopes: ['read', 'delete'], expiresInDays: 1 })
    const list = (await (await withToken(token, 'GET', '/api/me/shares')).json()) as MySharesResponse
    expect(list.shares.map((s) => s.id)).toContain(share.id)
    expect((await withToken(token, 'DELETE', `/api/shares/${share.id}`)).status).toBe(204)
    expect((await fetch(`${server.url}/api/shares/${share.id}`)).status).toBe(404)
    const up = await upload(token, 'b.txt', 10)
    expect(up.status).toBe(403)
    expect(await errorCode(up)).toBe('token_scope_missing')
  })

  it("a token of Alice cannot delete Bob's share, even with the delete scope", async () => {
    const bobs = await makeToken(bob, { name: 'bob up', scopes: ['upload'], expiresInDays: 1 })
    const share = (await (await upload(bobs.token, 'bob.txt', 10)).json()) as UploadResponse
    const { token } = await makeToken(alice, { name: 'alice del', scopes: ['delete'], expiresInDays: 1 })
    expect((await withToken(token, 'DELETE', `/api/me/shares/${share.id}`)).status).toBe(404)
    const res = await withToken(token, 'DELETE', `/api/shares/${share.id}`)
    expect(res.status).toBe(403)
    expect(await errorCode(res)).toBe('forbidden')
    expect((await fetch(`${server.url}/api/shares/${share.id}`)).status).toBe(200)
  })

  it('a token can never make, list or revoke tokens, nor sign in or out (token_not_accepted)', async () => {
    const { token, id } = await makeToken(alice, { name: 'all scopes', scopes: ['upload', 'read', 'delete', 'manage'], expiresInDays: 1 })
    const calls: [string, string, string?][] = [
      ['GET', '/api/me/tokens'],
      ['POST', '/api/me/tokens', JSON.stringify({ name: 'escalated', scopes: ['upload', 'read', 'delete', 'manage'], expiresInDays: null })],
      ['DELETE', `/api/me/tokens/${id}`],
      ['POST', '/api/auth/logout'],
      ['GET', '/api/auth/google'],
    ]
    for (const [method, path, body] of calls) {
      const res = await withToken(token, method, path, { body, headers: { 'content-type': 'application/json' } })
      expect(res.status, `${method} ${path}`).toBe(403)
      expect(await errorCode(res)).toBe('token_not_accepted')
    }
    expect((await withToken(token, 'GET', '/api/me')).status).toBe(200)
  })

  it('only an administrator can make an admin token; it reaches admin routes only while the user is an admin', async () => {
    const before = await liveTokens(ALICE.email)
    const refused = await inApp(alice, 'POST', '/api/me/tokens', { name: 'root', scopes: ['admin'], expiresInDays: 1 })
    expect(refused.status).toBe(403)
    expect(await liveTokens(ALICE.email)).toBe(before)

    const everything = await makeToken(alice, { name: 'not admin', scopes: ['upload', 'read', 'delete', 'manage'], expiresInDays: 1 })
    const denied = await withToken(everything.token, 'GET', '/api/admin/stats')
    expect(denied.status).toBe(403)

    const adminToken = await makeToken(admin, { name: 'ops', scopes: ['admin'], expiresInDays: 1 })
    expect((await withToken(adminToken.token, 'GET', '/api/admin/stats')).status).toBe(200)
    const adminRead = await makeToken(admin, { name: 'ops read', scopes: ['read'], expiresInDays: 1 })
    expect(await errorCode(await withToken(adminRead.token, 'GET', '/api/admin/stats'))).toBe('token_scope_missing')
  })
})

describe('invalid tokens get 401 and are never taken for anonymous', () => {
  it('a revoked token gets 401 token_invalid at once', async () => {
    const { token, id } = await makeToken(alice, { name: 'to revoke', scopes: ['read', 'upload'], expiresInDays: 1 })
    expect((await withToken(token, 'GET', '/api/me')).status).toBe(200)
    expect((await inApp(alice, 'DELETE', `/api/me/tokens/${id}`)).status).toBe(204)
    for (const [method, path] of [['GET', '/api/me'], ['GET', '/api/config'], ['PUT', '/api/upload/x.txt']] as const) {
      const res = await withToken(token, method, path, { body: method === 'PUT' ? 'x' : undefined })
      expect(res.status, path).toBe(401)
      expect(await errorCode(res)).toBe('token_invalid')
    }
    const list = (await (await inApp(alice, 'GET', '/api/me/tokens')).json()) as TokensResponse
    expect(list.tokens.map((t) => t.id)).not.toContain(id)
  })

  it('an expired token gets 401', async () => {
    const { token, id } = await makeToken(alice, { name: 'short', scopes: ['read'], expiresInDays: 1 })
    await server.deps.db.query(`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [id])
    const res = await withToken(token, 'GET', '/api/me')
    expect(res.status).toBe(401)
    expect(await errorCode(res)).toBe('token_invalid')
  })

  it('a token whose user was disabled gets 401', async () => {
    const carol = await signIn({ sub: 'g-carol', email: 'carol@example.com', name: 'Carol', email_verified: true })
    const { token } = await makeToken(carol, { name: 'c', scopes: ['read'], expiresInDays: 1 })
    await server.deps.db.query(`UPDATE users SET disabled_at = now() WHERE email = 'carol@example.com'`)
    expect((await withToken(token, 'GET', '/api/me')).status).toBe(401)
  })

  it('mistyped, forged, other schemes and a right id with a wrong secret all get 401', async () => {
    const { token } = await makeToken(alice, { name: 'real', scopes: ['read'], expiresInDays: 1 })
    const forged = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA')
    const headers = [`Bearer ${forged}`, `Bearer ${token}x`, 'Bearer ', 'Bearer', `Basic ${Buffer.from('a:b').toString('base64')}`, `bearer  ${'x'.repeat(5000)}`, 'Bearer sst_%00', token]
    for (const authorization of headers) {
      const res = await fetch(`${server.url}/api/me`, { headers: { authorization } })
      expect(res.status, authorization.slice(0, 40)).toBe(401)
      expect(await errorCode(res)).toBe('token_invalid')
    }
  })
})

describe('CSRF: cookies and tokens never stand in for each other', () => {
  it('a bearer request passes the origin check (no cookie is read for it)', async () => {
    const { token } = await makeToken(alice, { name: 'cross', scopes: ['upload'], expiresInDays: 1 })
    const res = await upload(token, 'c.txt', 10).then(async () =>
      withToken(token, 'PUT', '/api/upload/d.txt', { body: 'hi', headers: { origin: 'https://elsewhere.example', 'sec-fetch-site': 'cross-site' } }),
    )
    expect(res.status).toBe(201)
  })

  it('a session cookie with a bogus bearer token is refused, not signed in by the cookie', async () => {
    const res = await browserFetch(alice, `${server.url}/api/me`, { headers: { authorization: 'Bearer nonsense' } })
    expect(res.status).toBe(401)
  })

  it('a cross-site cookie request is still refused by the origin check', async () => {
    const res = await browserFetch(alice, `${server.url}/api/me/tokens`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'csrf', scopes: ['read'], expiresInDays: 1 }),
    })
    expect(res.status).toBe(403)
    expect(await errorCode(res)).toBe('csrf_rejected')
  })
})

describe('abuse', () => {
  it('hostile names and bodies get 400 and store nothing', async () => {
    const before = await liveTokens(BOB.email)
    const bodies: unknown[] = [
      { name: '', scopes: ['read'], expiresInDays: 1 },
      { name: '   ', scopes: ['read'], expiresInDays: 1 },
      { name: 'a'.repeat(81), scopes: ['read'], expiresInDays: 1 },
      { name: 'line\nbreak', scopes: ['read'], expiresInDays: 1 },
      { name: 'bidi \u202Egnp.exe', scopes: ['read'], expiresInDays: 1 },
      { name: 'nul\u0000', scopes: ['read'], expiresInDays: 1 },
      { name: 'ok', scopes: [], expiresInDays: 1 },
      { name: 'ok', scopes: ['read', 'read'], expiresInDays: 1 },
      { name: 'ok', scopes: ['root'], expiresInDays: 1 },
      { name: 'ok', scopes: 'read', expiresInDays: 1 },
      { name: 'ok', scopes: ['read'], expiresInDays: 0 },
      { name: 'ok', scopes: ['read'], expiresInDays: 1e9 },
      { name: 'ok', scopes: ['read'], expiresInDays: 1.5 },
      { name: 'ok', scopes: ['read'] },
      { name: 'ok', scopes: ['read'], expiresInDays: 1, userId: 'someone-else' },
      { name: { toString: 'x' }, scopes: ['read'], expiresInDays: 1 },
      ['array'],
    ]
    for (const body of bodies) {
      const res = await inApp(bob, 'POST', '/api/me/tokens', body)
      expect(res.status, JSON.stringify(body).slice(0, 60)).toBe(400)
      expect(await errorCode(res)).toBe('invalid_input')
    }
    expect(await liveTokens(BOB.email)).toBe(before)
  })

  it("Bob cannot see or revoke Alice's token: 404, and it keeps working", async () => {
    const { token, id } = await makeToken(alice, { name: 'alice only', scopes: ['read'], expiresInDays: 1 })
    const bobs = (await (await inApp(bob, 'GET', '/api/me/tokens')).json()) as TokensResponse
    expect(bobs.tokens.map((t) => t.id)).not.toContain(id)
    for (const target of [id, 'not-a-token-id', '../../etc/passwd', 'A'.repeat(5000)]) {
      const res = await inApp(bob, 'DELETE', `/api/me/tokens/${encodeURIComponent(target)}`)
      expect(res.status, target.slice(0, 20)).toBe(404)
    }
    expect((await withToken(token, 'GET', '/api/me')).status).toBe(200)
  })

  it('a flood of token creation stops at 50 live tokens, even all at once', async () => {
    const dave = await signIn({ sub: 'g-dave', email: 'dave@example.com', name: 'Dave', email_verified: true })
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => inApp(dave, 'POST', '/api/me/tokens', { name: `t${i}`, scopes: ['read'], expiresInDays: 1 })),
    )
    const statuses = answers.map((r) => r.status)
    for (const r of answers) if (r.status === 201) secrets.push(((await r.json()) as CreatedToken).token)
    expect(statuses.filter((s) => s === 201)).toHaveLength(50)
    expect(statuses.filter((s) => s === 409)).toHaveLength(10)
    expect(await liveTokens('dave@example.com')).toBe(50)
  })
})

describe('API tokens on the Socket.IO namespaces', () => {
  const SCRIPTER: FakeGoogleUser = { sub: 'g-sock-scripter', email: 'scripter@example.com', name: 'Scripter', email_verified: true }
  let scripter: CookieJar
  const sockets: Socket[] = []
  beforeAll(async () => {
    scripter = await signIn(SCRIPTER)
  })
  afterAll(() => {
    for (const s of sockets) s.disconnect()
  })
/** A token for the socket tests below: a day, the given scopes. */
  const socketToken = (jar: CookieJar, scopes: string[]) => makeToken(jar, { name: `socket ${scopes.join(' ')}`, scopes, expiresInDays: 1 })
  
  type Opened = { socket: Socket<ServerToClient, ClientToServer> } | { refused: string }
  
  /** Opens a namespace as a script does: no cookie, the token in the auth payload (when given). */
  function open(namespace: string, auth?: Record<string, unknown>): Promise<Opened> {
    const socket: Socket<ServerToClient, ClientToServer> = io(`${server.url}${namespace}`, { transports: ['websocket'], forceNew: true, reconnection: false, auth })
    sockets.push(socket)
    return new Promise((resolve) => {
      socket.once('connect', () => resolve({ socket }))
      socket.once('connect_error', (err) => {
        socket.disconnect()
        resolve({ refused: (err as { data?: { code?: string } }).data?.code ?? err.message })
      })
    })
  }
  const connected = async (namespace: string, auth?: Record<string, unknown>) => {
    const opened = await open(namespace, auth)
    if (!('socket' in opened)) throw new Error(`refused: ${opened.refused}`)
    return opened.socket
  }
  const refusedWith = async (namespace: string, auth?: Record<string, unknown>) => {
    const opened = await open(namespace, auth)
    return 'refused' in opened ? opened.refused : 'connected'
  }
  const userIdOf = async (email: string) => (await server.deps.db.query<{ id: string }>(`SELECT id FROM users WHERE email = $1`, [email]))[0]!.id

  describe('a token opens a P2P room and sends as its user', () => {
    it('an upload token creates a room, a stranger joins, and the transfer it reports is the user\'s', async () => {
      const { token } = await socketToken(scripter, ['upload'])
      const sender = await connected(ROOMS_NAMESPACE, { token })
      const created = await sender.emitWithAck('room:create', { name: 'script' })
      if (!created.ok) throw new Error(created.error.message)
      const stranger = await connectRooms(server.url)
      sockets.push(stranger as unknown as Socket)
      expect((await stranger.emitWithAck('room:join', { code: created.room.code, name: 'laptop' })).ok).toBe(true)
      expect(await reportTransfer(sender, { bytes: 4096, files: 1, ms: 20, status: 'completed' })).toEqual({ ok: true })
      const rows = await p2pRepo(server.deps.db).recent(20)
      expect(rows.find((r) => r.roomId === created.room.id)).toMatchObject({ bytes: 4096, senderUserId: await userIdOf(SCRIPTER.email) })
    })

    it('without a token a script is anonymous in a room, as before', async () => {
      const anon = await connected(ROOMS_NAMESPACE)
      const created = await anon.emitWithAck('room:create', {})
      if (!created.ok) throw new Error(created.error.message)
      expect(await reportTransfer(anon, { bytes: 10, files: 1, ms: 1, status: 'completed' })).toEqual({ ok: true })
      const rows = await p2pRepo(server.deps.db).recent(20)
      expect(rows.find((r) => r.roomId === created.room.id)?.senderUserId).toBeNull()
    })
  })

  describe('scopes per namespace', () => {
    it('/rooms needs upload: a read-only token is refused (token_scope_missing), not let in anonymously', async () => {
      const { token } = await socketToken(scripter, ['read'])
      expect(await refusedWith(ROOMS_NAMESPACE, { token })).toBe('token_scope_missing')
    })

    it('/account (the owner\'s download feed) needs read: a read token follows it, an upload-only token cannot', async () => {
      const read = await socketToken(scripter, ['read'])
      const upload = await socketToken(scripter, ['upload'])
      expect(await refusedWith(ACCOUNT_NAMESPACE, { token: read.token })).toBe('connected')
      expect(await refusedWith(ACCOUNT_NAMESPACE, { token: upload.token })).toBe('token_scope_missing')
      expect(await refusedWith(ACCOUNT_NAMESPACE)).toBe('unauthorized')
    })

    it('/admin needs the admin scope and an administrator; a demoted admin\'s token is refused', async () => {
      const ops = await socketToken(admin, ['admin'])
      const opsRead = await socketToken(admin, ['read', 'upload'])
      const everything = await socketToken(scripter, ['upload', 'read', 'delete', 'manage'])
      expect(await refusedWith(ADMIN_NAMESPACE, { token: ops.token })).toBe('connected')
      expect(await refusedWith(ADMIN_NAMESPACE, { token: opsRead.token })).toBe('token_scope_missing')
      expect(await refusedWith(ADMIN_NAMESPACE, { token: everything.token })).toBe('token_scope_missing')
      const adminId = await userIdOf(ADMIN.email)
      await server.deps.db.query(`UPDATE users SET role = 'user' WHERE id = $1`, [adminId])
      try {
        expect(await refusedWith(ADMIN_NAMESPACE, { token: ops.token })).toBe('forbidden')
      } finally {
        await server.deps.db.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [adminId])
      }
    })
  })

  describe('invalid tokens are refused on every namespace', () => {
    it('a revoked token is refused, and the sockets it had open are closed at once', async () => {
      const { token, id } = await socketToken(scripter, ['upload', 'read'])
      const room = await connected(ROOMS_NAMESPACE, { token })
      const feed = await connected(ACCOUNT_NAMESPACE, { token })
      const res = await browserFetch(scripter, `${server.url}/api/me/tokens/${id}`, { method: 'DELETE', headers: { origin: server.url } })
      expect(res.status).toBe(204)
      await until(() => !room.connected && !feed.connected, 'the revoked token\'s sockets to close')
      expect(await refusedWith(ROOMS_NAMESPACE, { token })).toBe('token_invalid')
      expect(await refusedWith(ACCOUNT_NAMESPACE, { token })).toBe('token_invalid')
    })

    it('an expired token and a disabled user\'s token are refused', async () => {
      const expired = await socketToken(scripter, ['upload'])
      await server.deps.db.query(`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired.id])
      expect(await refusedWith(ROOMS_NAMESPACE, { token: expired.token })).toBe('token_invalid')

      const carol = await signIn({ sub: 'g-sock-carol', email: 'sock-carol@example.com', name: 'Carol', email_verified: true })
      const { token } = await socketToken(carol, ['upload'])
      const open = await connected(ROOMS_NAMESPACE, { token })
      await server.deps.db.query(`UPDATE users SET disabled_at = now() WHERE email = 'sock-carol@example.com'`)
      expect(await refusedWith(ROOMS_NAMESPACE, { token })).toBe('token_invalid')
      open.disconnect()
    })

    it('hostile auth payloads: forged, mistyped, a number, an object, an enormous string, a right id with a wrong secret', async () => {
      const { token } = await socketToken(scripter, ['upload'])
      const forged = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA')
      for (const bad of [forged, 'sst_nope', '', 42, { token }, ['x'], null, 'x'.repeat(100_000), `Bearer ${token}`]) {
        expect(await refusedWith(ROOMS_NAMESPACE, { token: bad }), JSON.stringify(bad).slice(0, 40)).toBe('token_invalid')
      }
      // Other fields of the payload are not credentials: the socket is anonymous.
      expect(await refusedWith(ROOMS_NAMESPACE, { user: 'alice' })).toBe('connected')
    })

    it('a flood of bad tokens is refused one by one and the server keeps serving', async () => {
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => refusedWith(ROOMS_NAMESPACE, { token: `sst_${'A'.repeat(16)}_${String(i).padStart(43, 'x')}` })))
      expect(new Set(answers)).toEqual(new Set(['token_invalid']))
      const { token } = await socketToken(scripter, ['upload'])
      expect(await refusedWith(ROOMS_NAMESPACE, { token })).toBe('connected')
      expect((await fetch(`${server.url}/api/health`)).status).toBe(200)
    })
  })
})

describe('logs', () => {
  it('no token secret appears in the captured log (debug level, every request above)', async () => {
    expect(secrets.length).toBeGreaterThan(10)
    const text = logs.text()
    expect(text.length).toBeGreaterThan(1000)
    for (const token of secrets) expect(text).not.toContain(token.slice(-43))
  })
})
