import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Me } from '@sharesync/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureAdminBootstrap } from '../src/auth/auth.service'
import { SESSION_COOKIE } from '../src/auth/session.middleware'
import { requireAdminSocket } from '../src/auth/socket-auth'
import { startTestServer, type TestServer } from './support/harness'
import { browserFetch, CookieJar, signInFlow, startOAuthServer, type LocalOAuth } from './support/oauth'
import { io as connectSocket } from 'socket.io-client'
import { connectRooms } from './support/rooms-client'

const ALICE = { sub: 'google-alice', email: 'alice@example.com', name: 'Alice', picture: 'https://example.com/alice.png', email_verified: true }
const BOB = { sub: 'google-bob', email: 'Bob@Example.com', name: 'Bob', email_verified: true }
const ADMIN = { sub: 'google-root', email: 'root@example.com', name: 'Root', email_verified: true }

let oauth: LocalOAuth
let server: TestServer

async function me(jar: CookieJar): Promise<Response> {
  return browserFetch(jar, `${server.url}/api/me`)
}

async function signIn(user: typeof ALICE | typeof BOB, returnTo?: string) {
  oauth.setUser(user)
  const jar = new CookieJar()
  const flow = await signInFlow(server.url, jar, { returnTo })
  return { jar, ...flow }
}

beforeAll(async () => {
  oauth = await startOAuthServer()
  server = await startTestServer({ ...oauth.env, ADMIN_EMAILS: 'root@example.com' })
})
afterAll(async () => {
  await server?.close()
  await oauth?.stop()
})

describe('Google sign-in against a real OAuth2 server', () => {
  it('sign-in creates the user and a session; /api/me returns them', async () => {
    const { jar, authorizeUrl, response, landedOn } = await signIn(ALICE)
    // state + PKCE (S256) on the authorization request
    expect(authorizeUrl.origin).toBe(oauth.url)
    expect(authorizeUrl.searchParams.get('state')).toMatch(/^.{16,}$/)
    expect(authorizeUrl.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256')
    expect(authorizeUrl.searchParams.get('scope')).toContain('email')
    expect(authorizeUrl.searchParams.get('redirect_uri')).toBe(`${server.url}/api/auth/google/callback`)
    expect(response.status).toBe(302)
    expect(landedOn).toBe('/')

    const res = await me(jar)
    expect(res.status).toBe(200)
    const body = (await res.json()) as Me
    expect(body).toMatchObject({ email: 'alice@example.com', name: 'Alice', avatarUrl: 'https://example.com/alice.png', role: 'user' })
    const sessions = await server.deps.db.query<{ user_id: string }>(`SELECT user_id FROM sessions WHERE user_id = $1`, [body.id])
    expect(sessions).toHaveLength(1)
  })

  it('the session cookie is HttpOnly, SameSite=Lax, not Secure on plain http, and its id changes at sign-in', async () => {
    oauth.setUser(ALICE)
    const jar = new CookieJar()
    await browserFetch(jar, `${server.url}/api/auth/google`)
    const before = jar.get(SESSION_COOKIE)
    expect(before).toBeDefined()
    const { response } = await signInFlow(server.url, jar)
    expect(response.status).toBe(302)
    const after = jar.get(SESSION_COOKIE)
    expect(after).toBeDefined()
    expect(after).not.toBe(before)
    const setCookie = jar.setCookies.at(-1)!
    expect(setCookie).toMatch(/HttpOnly/i)
    expect(setCookie).toMatch(/SameSite=Lax/i)
    expect(setCookie).not.toMatch(/Secure/i)
    // The session that only holds the OAuth state lives minutes; the signed-in one 30 days.
    const lifetime = (line: string) => Date.parse(/Expires=([^;]+)/i.exec(line)![1]!) - Date.now()
    expect(lifetime(jar.setCookies[0]!)).toBeLessThanOrEqual(15 * 60_000)
    expect(lifetime(setCookie)).toBeGreaterThan(29 * 86_400_000)
    // The pre-sign-in session id is dead: fixation gets an attacker nothing.
    const old = new CookieJar()
    old.cookies.set(SESSION_COOKIE, before!)
    expect((await me(old)).status).toBe(401)
  })

  it('starting a new sign-in while signed in does not shorten the current session', async () => {
    const { jar } = await signIn(ALICE)
    const cookie = jar.get(SESSION_COOKIE)!
    // The cookie is "s:<sid>.<signature>", URL-encoded.
    const sid = decodeURIComponent(cookie).slice(2).split('.')[0]!
    await browserFetch(jar, `${server.url}/api/auth/google`)
    expect(jar.get(SESSION_COOKIE)).toBe(cookie)
    expect((await me(jar)).status).toBe(200)
    const [row] = await server.deps.db.query<{ expires_at: Date }>(`SELECT expires_at FROM sessions WHERE sid = $1`, [sid])
    expect(row!.expires_at.getTime() - Date.now()).toBeGreaterThan(29 * 86_400_000)
  })

  it('a second sign-in reuses the user and refreshes the profile', async () => {
    const first = (await (await me((await signIn(BOB)).jar)).json()) as Me
    const second = (await (await me((await signIn({ ...BOB, name: 'Robert' })).jar)).json()) as Me
    expect(second.id).toBe(first.id)
    expect(second.name).toBe('Robert')
    expect(second.email).toBe('bob@example.com')
    const rows = await server.deps.db.query(`SELECT id FROM users WHERE email = 'bob@example.com'`)
    expect(rows).toHaveLength(1)
  })

  it('sign-out ends the session: the same cookie is no longer signed in', async () => {
    const { jar } = await signIn(ALICE)
    const stolen = jar.clone()
    const out = await browserFetch(jar, `${server.url}/api/auth/logout`, { method: 'POST', headers: { origin: server.url } })
    expect(out.status).toBe(204)
    expect(jar.get(SESSION_COOKIE)).toBeUndefined()
    expect((await me(jar)).status).toBe(401)
    // A copy of the cookie taken before sign-out is worthless: the row is gone.
    expect((await me(stolen)).status).toBe(401)
  })

  it('/api/me without a session is 401 with the JSON error shape', async () => {
    const res = await fetch(`${server.url}/api/me`)
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: { code: 'unauthorized' } })
  })

  it('a Google account without a verified email is not signed in; the app is told why', async () => {
    const { jar, response } = await signIn({ sub: 'google-unverified', email: 'eve@example.com', name: 'Eve', email_verified: false })
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toBe('/?signin_error=forbidden')
    expect((await me(jar)).status).toBe(401)
  })
})

describe('state: missing, wrong or replayed -> 403 and no session', () => {
  async function startAndGetCallback(jar: CookieJar) {
    oauth.setUser(ALICE)
    const first = await browserFetch(jar, `${server.url}/api/auth/google`)
    const second = await fetch(first.headers.get('location')!, { redirect: 'manual' })
    return new URL(second.headers.get('location')!)
  }

  it('missing state', async () => {
    const jar = new CookieJar()
    const callback = await startAndGetCallback(jar)
    callback.searchParams.delete('state')
    const res = await browserFetch(jar, callback.toString())
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ error: { code: 'state_invalid' } })
    expect((await me(jar)).status).toBe(401)
  })

  it('wrong state', async () => {
    const jar = new CookieJar()
    const callback = await startAndGetCallback(jar)
    callback.searchParams.set('state', 'x'.repeat(24))
    const res = await browserFetch(jar, callback.toString())
    expect(res.status).toBe(403)
    expect((await me(jar)).status).toBe(401)
  })

  it('a callback without the session that started it (login CSRF)', async () => {
    const callback = await startAndGetCallback(new CookieJar())
    const victim = new CookieJar()
    const res = await browserFetch(victim, callback.toString())
    expect(res.status).toBe(403)
    expect(victim.get(SESSION_COOKIE)).toBeUndefined()
    expect((await me(victim)).status).toBe(401)
  })

  it('replayed state: the second use of a callback URL is refused', async () => {
    const jar = new CookieJar()
    const preSignIn = jar.clone()
    const callback = await startAndGetCallback(jar)
    for (const [k, v] of jar.cookies) preSignIn.cookies.set(k, v)
    const ok = await browserFetch(jar, callback.toString())
    expect(ok.status).toBe(302)
    const replay = await browserFetch(preSignIn, callback.toString())
    expect(replay.status).toBe(403)
    expect((await me(preSignIn)).status).toBe(401)
  })

  it('a callback without a code does not start a new sign-in', async () => {
    const res = await fetch(`${server.url}/api/auth/google/callback?state=abc`, { redirect: 'manual' })
    expect(res.status).toBe(403)
  })

  it('Google refusing the code lands on the app with an error code, without a session', async () => {
    const jar = new CookieJar()
    oauth.setUser(ALICE)
    const first = await browserFetch(jar, `${server.url}/api/auth/google`)
    const second = await fetch(first.headers.get('location')!, { redirect: 'manual' })
    oauth.server.service.once('beforeResponse', (res: { body: unknown; statusCode: number }) => {
      res.body = { error: 'invalid_grant' }
      res.statusCode = 400
    })
    const res = await browserFetch(jar, second.headers.get('location')!)
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/?signin_error=forbidden')
    expect((await me(jar)).status).toBe(401)
  })

  it('the user cancelling at Google lands on / without a session', async () => {
    const jar = new CookieJar()
    await browserFetch(jar, `${server.url}/api/auth/google`)
    const res = await browserFetch(jar, `${server.url}/api/auth/google/callback?error=access_denied`)
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/')
    expect((await me(jar)).status).toBe(401)
  })
})

describe('returnTo accepts only same-origin paths', () => {
  it('a same-origin path is honoured', async () => {
    const { landedOn } = await signIn(ALICE, '/me?tab=shares#top')
    expect(landedOn).toBe('/me?tab=shares#top')
  })

  for (const evil of ['//evil.example', 'https://evil.example', '/\\evil.example', 'javascript:alert(1)', '/\t/evil.example', 'http:evil.example', '/%0a/evil.example']) {
    it(`${JSON.stringify(evil)} lands on a same-origin path`, async () => {
      const { landedOn } = await signIn(ALICE, evil)
      expect(landedOn).toMatch(/^\/(?![/\\])/)
      expect(new URL(landedOn!, server.url).origin).toBe(server.url)
      if (evil !== '/%0a/evil.example') expect(landedOn).toBe('/')
    })
  }
})

describe('roles', () => {
  it('an email in ADMIN_EMAILS becomes admin at sign-in; a non-admin gets 403 on /api/admin/*, anonymous 401', async () => {
    const admin = await signIn(ADMIN)
    const adminMe = (await (await me(admin.jar)).json()) as Me
    expect(adminMe.role).toBe('admin')

    const bob = await signIn(BOB)
    const bobMe = (await (await me(bob.jar)).json()) as Me
    expect(bobMe.role).toBe('user')

    for (const [method, path] of [['GET', '/api/admin/stats'], ['GET', '/api/admin/shares'], ['GET', '/api/admin/users'], ['PATCH', `/api/admin/users/${adminMe.id}/role`], ['DELETE', '/api/admin/shares/x'], ['GET', '/api/admin']] as const) {
      const init = { method, headers: { origin: server.url, 'content-type': 'application/json' }, body: method === 'PATCH' ? JSON.stringify({ role: 'user' }) : undefined }
      expect((await browserFetch(bob.jar, `${server.url}${path}`, init)).status, `${method} ${path} as user`).toBe(403)
      expect((await browserFetch(new CookieJar(), `${server.url}${path}`, init)).status, `${method} ${path} anonymous`).toBe(401)
    }
    expect((await me(admin.jar)).status).toBe(200)
  })

  it('an admin promotes a user, who then passes the admin check; the promotion survives sign-in', async () => {
    const admin = await signIn(ADMIN)
    oauth.setUser({ sub: 'google-carol', email: 'carol@example.com', name: 'Carol', email_verified: true })
    const carol = new CookieJar()
    await signInFlow(server.url, carol)
    const carolMe = (await (await me(carol)).json()) as Me

    const res = await browserFetch(admin.jar, `${server.url}/api/admin/users/${carolMe.id}/role`, {
      method: 'PATCH',
      headers: { origin: server.url, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'admin' }),
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ id: carolMe.id, role: 'admin' })
    // The role is read on every request: no need to sign in again.
    expect(((await (await me(carol)).json()) as Me).role).toBe('admin')
    const again = new CookieJar()
    await signInFlow(server.url, again)
    expect(((await (await me(again)).json()) as Me).role).toBe('admin')

    const demote = await browserFetch(admin.jar, `${server.url}/api/admin/users/${carolMe.id}/role`, {
      method: 'PATCH',
      headers: { origin: server.url, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'superuser' }),
    })
    expect(demote.status).toBe(400)
  })

  it('a disabled user is treated as signed out', async () => {
    const { jar } = await signIn({ sub: 'google-dave', email: 'dave@example.com', name: 'Dave', email_verified: true })
    const dave = (await (await me(jar)).json()) as Me
    await server.deps.db.query(`UPDATE users SET disabled_at = now() WHERE id = $1`, [dave.id])
    expect((await me(jar)).status).toBe(401)
    oauth.setUser({ sub: 'google-dave', email: 'dave@example.com', name: 'Dave', email_verified: true })
    const retryJar = new CookieJar()
    const retry = await signInFlow(server.url, retryJar)
    expect(retry.landedOn).toBe('/?signin_error=account_disabled')
    expect((await me(retryJar)).status).toBe(401)
  })
})

describe('CSRF: cross-site state-changing requests with a valid session cookie', () => {
  it('are refused with 403 on account, admin and share routes, and change nothing', async () => {
    const admin = await signIn(ADMIN)
    const bob = await signIn(BOB)
    const bobMe = (await (await me(bob.jar)).json()) as Me
    const evil = { origin: 'https://evil.example', 'content-type': 'application/json' }
    const requests: [string, string, string | undefined][] = [
      ['POST', '/api/auth/logout', undefined],
      ['PATCH', `/api/admin/users/${bobMe.id}/role`, JSON.stringify({ role: 'admin' })],
      ['POST', '/api/shares', JSON.stringify({ files: [{ name: 'a.txt', size: 1 }] })],
      ['DELETE', '/api/shares/AAAAAAAAAAAAAAAAAAAAAA', undefined],
      ['DELETE', '/api/me/shares/AAAAAAAAAAAAAAAAAAAAAA', undefined],
      ['POST', '/api/me/shares/claim', JSON.stringify({ shares: [{ id: 'AAAAAAAAAAAAAAAAAAAAAA', ownerToken: 'x'.repeat(22) }] })],
    ]
    for (const [method, path, body] of requests) {
      const res = await browserFetch(admin.jar, `${server.url}${path}`, { method, headers: evil, body })
      expect(res.status, `${method} ${path}`).toBe(403)
      expect(await res.json()).toMatchObject({ error: { code: 'csrf_rejected' } })
      const fetchMeta = await browserFetch(admin.jar, `${server.url}${path}`, { method, headers: { 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' }, body })
      expect(fetchMeta.status, `${method} ${path} (Sec-Fetch-Site)`).toBe(403)
    }
    expect((await me(admin.jar)).status).toBe(200)
    expect(((await (await me(bob.jar)).json()) as Me).role).toBe('user')
  })
})

describe('admin bootstrap without Google', () => {
  it('prints a one-time link that signs in a local admin once', async () => {
    const plain = await startTestServer()
    try {
      const path = await ensureAdminBootstrap(plain.deps)
      expect(path).toMatch(/^\/api\/auth\/bootstrap\?token=[A-Za-z0-9_-]{43}$/)
      const stored = await plain.deps.db.query<{ token_hash: string }>(`SELECT token_hash FROM admin_bootstrap_tokens`)
      expect(stored).toHaveLength(1)
      expect(path).not.toContain(stored[0]!.token_hash)

      const jar = new CookieJar()
      const res = await browserFetch(jar, `${plain.url}${path}`)
      expect(res.status).toBe(302)
      expect(res.headers.get('location')).toBe('/admin')
      const admin = (await (await browserFetch(jar, `${plain.url}/api/me`)).json()) as Me
      expect(admin).toMatchObject({ email: 'admin@localhost', role: 'admin' })

      const again = await browserFetch(new CookieJar(), `${plain.url}${path}`)
      expect(again.status).toBe(403)
      // An admin now exists: the next start prints no link.
      expect(await ensureAdminBootstrap(plain.deps)).toBeNull()
      // Google sign-in is not configured: its routes say so, and no default password exists anywhere.
      expect((await fetch(`${plain.url}/api/auth/google`, { redirect: 'manual' })).status).toBe(404)
    } finally {
      await plain.close()
    }
  })

  it('a new link revokes the previous one, and a wrong token is refused', async () => {
    const plain = await startTestServer()
    try {
      const first = await ensureAdminBootstrap(plain.deps)
      const second = await ensureAdminBootstrap(plain.deps)
      expect((await fetch(`${plain.url}${first}`, { redirect: 'manual' })).status).toBe(403)
      expect((await fetch(`${plain.url}/api/auth/bootstrap?token=${'A'.repeat(43)}`, { redirect: 'manual' })).status).toBe(403)
      expect((await fetch(`${plain.url}/api/auth/bootstrap?token=short`, { redirect: 'manual' })).status).toBe(400)
      expect((await fetch(`${plain.url}${second}`, { redirect: 'manual' })).status).toBe(302)
    } finally {
      await plain.close()
    }
  })

  it('prints nothing when Google sign-in with ADMIN_EMAILS can make the admin', async () => {
    expect(await ensureAdminBootstrap(server.deps)).toBeNull()
  })
})

describe('sessions live in the database', () => {
  it('a session survives a server restart on the same DATA_DIR', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sharesync-auth-restart-'))
    try {
      let s = await startTestServer({ ...oauth.env, DATA_DIR: dataDir })
      oauth.setUser(ALICE)
      const jar = new CookieJar()
      await signInFlow(s.url, jar)
      expect((await browserFetch(jar, `${s.url}/api/me`)).status).toBe(200)
      await s.close()
      s = await startTestServer({ ...oauth.env, DATA_DIR: dataDir })
      try {
        const res = await browserFetch(jar, `${s.url}/api/me`)
        expect(res.status).toBe(200)
        expect(await res.json()).toMatchObject({ email: 'alice@example.com' })
      } finally {
        await s.close()
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('with an https PUBLIC_URL (TLS ending at a proxy) the cookie is Secure', async () => {
    const s = await startTestServer({ ...oauth.env, PUBLIC_URL: 'https://share.example' })
    try {
      oauth.setUser(ALICE)
      const jar = new CookieJar()
      const flow = await signInFlow(s.url, jar, {
        rewriteCallback: (u) => u.replace('https://share.example', s.url),
        headers: { 'x-forwarded-proto': 'https' },
      })
      expect(flow.authorizeUrl.searchParams.get('redirect_uri')).toBe('https://share.example/api/auth/google/callback')
      expect(flow.response.status).toBe(302)
      expect(jar.setCookies.at(-1)).toMatch(/;\s*Secure/i)
    } finally {
      await s.close()
    }
  })
})

describe('cookie security behind a trusted proxy', () => {
  it('without PUBLIC_URL, the cookie is Secure when a trusted proxy says the request was https', async () => {
    const s = await startTestServer({ ...oauth.env, TRUST_PROXY: 'loopback' })
    try {
      oauth.setUser(ALICE)
      const https = new CookieJar()
      // Behind the proxy the callback URL is https (the proxy's side); the test talks to the app directly.
      const flow = await signInFlow(s.url, https, { headers: { 'x-forwarded-proto': 'https' }, rewriteCallback: (u) => u.replace(/^https:/, 'http:') })
      expect(flow.authorizeUrl.searchParams.get('redirect_uri')).toBe(`${s.url.replace(/^http:/, 'https:')}/api/auth/google/callback`)
      expect(https.setCookies.at(-1)).toMatch(/;\s*Secure/i)
      const http = new CookieJar()
      await signInFlow(s.url, http)
      expect(http.setCookies.at(-1)).not.toMatch(/Secure/i)
    } finally {
      await s.close()
    }
  })
})

describe('Socket.IO handshakes', () => {
  const roomsSockets = () => [...server.realtime.io.of('/rooms').sockets.values()]

  it('a same-origin handshake carries the session: the socket knows who is signed in', async () => {
    const { jar } = await signIn(ALICE)
    const alice = (await (await me(jar)).json()) as Me
    const socket = await connectRooms(server.url, { headers: { origin: server.url, cookie: jar.header() } })
    try {
      const serverSide = roomsSockets().find((s) => s.id === socket.id)
      expect(serverSide?.data.userId).toBe(alice.id)
    } finally {
      socket.disconnect()
    }
    const anonymous = await connectRooms(server.url, { headers: { origin: server.url } })
    try {
      expect(roomsSockets().find((s) => s.id === anonymous.id)?.data.userId).toBeNull()
    } finally {
      anonymous.disconnect()
    }
  })

  it('a handshake with a foreign Origin and a valid cookie is refused, over websocket and polling', async () => {
    const { jar } = await signIn(ALICE)
    const before = roomsSockets().length
    await expect(connectRooms(server.url, { headers: { origin: 'https://evil.example', cookie: jar.header() } })).rejects.toThrow()
    const polling = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'https://evil.example', cookie: jar.header() } })
    expect(polling.status).toBe(403)
    expect(roomsSockets().length).toBe(before)
  })
})

describe('admin-only sockets', () => {
  it('an admin namespace admits the admin, refuses a signed-in user and an anonymous socket', async () => {
    server.realtime.io.of('/admin-test').use(requireAdminSocket(server.deps))
    const connect = (cookie?: string) =>
      new Promise<string>((resolve) => {
        const socket = connectSocket(`${server.url}/admin-test`, { transports: ['websocket'], forceNew: true, reconnection: false, extraHeaders: { origin: server.url, ...(cookie ? { cookie } : {}) } })
        socket.once('connect', () => {
          socket.disconnect()
          resolve('connected')
        })
        socket.once('connect_error', (err) => resolve((err as { data?: { code?: string } }).data?.code ?? err.message))
      })
    const admin = await signIn(ADMIN)
    const bob = await signIn(BOB)
    expect(await connect(admin.jar.header())).toBe('connected')
    expect(await connect(bob.jar.header())).toBe('forbidden')
    expect(await connect()).toBe('unauthorized')
  })
})
