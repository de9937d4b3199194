/**
 * The smaller holes a public instance had, each as an attacker would notice it: metrics readable
 * by anyone, a malformed URL answered 500 with an error-level stack, share ids in the request log,
 * and Google sign-in taking over an account by e-mail alone. Real server, real OAuth2 server.
 */
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './support/harness'
import { browserFetch, CookieJar, signInFlow, startOAuthServer, type FakeGoogleUser, type LocalOAuth } from './support/oauth'

/** Every log line the server writes, parsed. */
function captureLogs() {
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    },
  })
  return { lines, logger: pino({ level: 'debug' }, sink) }
}

const levelName = (n: unknown) => ({ 20: 'debug', 30: 'info', 40: 'warn', 50: 'error' })[n as number]

const ROOT: FakeGoogleUser = { sub: 'google-root-sub', email: 'root@example.com', name: 'Root', email_verified: true }

let oauth: LocalOAuth
let server: TestServer
const logs = captureLogs()

beforeAll(async () => {
  oauth = await startOAuthServer()
  server = await startTestServer({ ...oauth.env, ADMIN_EMAILS: ROOT.email, TRUST_PROXY: 'loopback' }, { logger: logs.logger })
})
afterAll(async () => {
  await server?.close()
  await oauth?.stop()
})

async function signIn(user: FakeGoogleUser) {
  oauth.setUser(user)
  const jar = new CookieJar()
  const { landedOn } = await signInFlow(server.url, jar)
  return { jar, landedOn }
}

describe('GET /metrics without METRICS_TOKEN', () => {
  it('answers a scraper on this host, and refuses any other client with 403 (no token set)', async () => {
    const local = await server.fetch('/metrics')
    expect(local.status).toBe(200)
    expect(await local.text()).toContain('sharesync_uploads_total')
    // Behind a proxy (TRUST_PROXY), the client is the forwarded address, not the proxy's loopback.
    const remote = await server.fetch('/metrics', { headers: { 'x-forwarded-for': '203.0.113.9' } })
    expect(remote.status).toBe(403)
    const body = (await remote.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('forbidden')
    expect(body.error.message).toContain('METRICS_TOKEN')
    expect((await server.fetch('/metrics', { headers: { 'x-forwarded-for': '::ffff:10.1.2.3' } })).status).toBe(403)
  })
})

describe('URLs that cannot be percent-decoded', () => {
  it('GET /api/shares/%E0%A4%A answers 400 invalid_input (not 500), and is logged at debug without a stack', async () => {
    const before = logs.lines.length
    for (const path of ['/api/shares/%E0%A4%A', '/api/shares/%E0%A4%A/download', '/api/shares/abc/files/%ff/download']) {
      const res = await server.fetch(path)
      expect(res.status, path).toBe(400)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_input')
    }
    const written = logs.lines.slice(before)
    expect(written.filter((l) => levelName(l.level) === 'error' || levelName(l.level) === 'warn')).toEqual([])
    const requestLogs = written.filter((l) => (l.res as { statusCode?: number } | undefined)?.statusCode === 400)
    expect(requestLogs.length).toBe(3)
    expect(requestLogs.every((l) => levelName(l.level) === 'debug')).toBe(true)
    expect(JSON.stringify(written)).not.toContain('"stack"')
  })
})

describe('request logs', () => {
  it('name the route pattern (/api/shares/:id), never a share id, file id or owner token', async () => {
    const upload = await server.fetch('/api/upload/log-test.txt', { method: 'PUT', body: 'hello' })
    const { id, ownerToken } = (await upload.json()) as { id: string; ownerToken: string }
    const meta = (await (await server.fetch(`/api/shares/${id}`)).json()) as { files: { id: string }[] }
    const fileId = meta.files[0]!.id
    const before = logs.lines.length
    await (await server.fetch(`/api/shares/${id}`)).arrayBuffer()
    await (await server.fetch(`/api/shares/${id}/files/${fileId}/download`, { redirect: 'manual' })).arrayBuffer()
    await (await server.fetch(`/api/shares/${id}`, { method: 'DELETE', headers: { 'x-owner-token': ownerToken } })).arrayBuffer()
    await (await server.fetch(`/api/shares/${id}`)).arrayBuffer()
    const written = logs.lines.slice(before)
    const text = JSON.stringify(written)
    expect(text).not.toContain(id)
    expect(text).not.toContain(fileId)
    expect(text).not.toContain(ownerToken)
    const routes = written.filter((l) => l.req).map((l) => `${(l.req as { method: string }).method} ${l.route as string}`)
    expect(routes).toEqual(['GET /api/shares/:id', 'GET /api/shares/:id/files/:fileId/download', 'DELETE /api/shares/:id', 'GET /api/shares/:id'])
  })
})

describe('Google sign-in links accounts by Google sub only', () => {
  it('a different Google account showing the admin’s e-mail cannot sign in as the admin: refused with identity_conflict, no session, the admin account untouched', async () => {
    const root = await signIn(ROOT)
    expect(root.landedOn).toBe('/')
    const [before] = await server.deps.db.query<{ id: string; google_sub: string; role: string }>(`SELECT id, google_sub, role FROM users WHERE email = $1`, [ROOT.email])
    expect(before).toMatchObject({ google_sub: ROOT.sub, role: 'admin' })

    const impostor = await signIn({ sub: 'attacker-sub', email: 'Root@Example.com', name: 'Not Root', email_verified: true })
    expect(impostor.landedOn).toBe('/?signin_error=identity_conflict')
    expect((await browserFetch(impostor.jar, `${server.url}/api/me`)).status).toBe(401)
    expect((await browserFetch(impostor.jar, `${server.url}/api/admin/stats`)).status).toBe(401)

    const after = await server.deps.db.query<{ id: string; google_sub: string; role: string; name: string }>(`SELECT id, google_sub, role, name FROM users WHERE lower(email) = $1`, [ROOT.email])
    expect(after).toEqual([{ ...before, name: 'Root' }])
    // The real owner still signs in.
    expect((await signIn(ROOT)).landedOn).toBe('/')
  })

  it('the local admin account of the bootstrap link cannot be claimed by a Google account with its e-mail', async () => {
    await server.deps.db.query(`INSERT INTO users (id, email, name, role) VALUES ('local-admin-id', 'admin@localhost', 'Administrator', 'admin') ON CONFLICT (email) DO NOTHING`)
    const claim = await signIn({ sub: 'claims-local-admin', email: 'admin@localhost', name: 'X', email_verified: true })
    expect(claim.landedOn).toBe('/?signin_error=identity_conflict')
    const [row] = await server.deps.db.query<{ google_sub: string | null }>(`SELECT google_sub FROM users WHERE email = 'admin@localhost'`)
    expect(row!.google_sub).toBeNull()
  })

  it('the same Google account (same sub) keeps signing in after its e-mail changes', async () => {
    const first = await signIn({ sub: 'mover-sub', email: 'old@example.com', name: 'Mover', email_verified: true })
    expect(first.landedOn).toBe('/')
    const moved = await signIn({ sub: 'mover-sub', email: 'new@example.com', name: 'Mover', email_verified: true })
    expect(moved.landedOn).toBe('/')
    const me = (await (await browserFetch(moved.jar, `${server.url}/api/me`)).json()) as { email: string }
    expect(me.email).toBe('new@example.com')
  })
})
