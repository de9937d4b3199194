/**
 * Generic OpenID Connect sign-in against a real local provider (oauth2-mock-server: discovery, JWKS,
 * signed ID tokens, PKCE): state, nonce and PKCE on the way out, the ID token validated on the way
 * back (a wrong nonce or issuer is refused), identities linked by (issuer, sub) only, the admin role
 * from a group claim, several providers side by side with Google.
 */
import type { Me, PublicConfig } from '@sharesync/protocol'
import { OAuth2Server } from 'oauth2-mock-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config'
import { startTestServer, type TestServer } from './support/harness'
import { browserFetch, CookieJar, startOAuthServer, type LocalOAuth } from './support/oauth'

interface Person {
  sub: string
  email: string
  email_verified?: boolean
  name?: string
  groups?: string[]
}

let google: LocalOAuth
let provider: OAuth2Server
let other: OAuth2Server
let server: TestServer
let person: Person
/** a last change to the ID token's claims (to forge a wrong nonce or issuer) */
let tamper: ((payload: Record<string, unknown>) => void) | null = null

async function startProvider(): Promise<OAuth2Server> {
  const p = new OAuth2Server()
  await p.issuer.keys.generate('RS256')
  await p.start(0, '127.0.0.1')
  // The issuer it names in discovery and tokens must be the URL ShareSync is given.
  p.issuer.url = `http://127.0.0.1:${p.address().port}/`
  p.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }) => {
    Object.assign(token.payload, person)
    tamper?.(token.payload)
  })
  p.service.on('beforeUserinfo', (res: { body: unknown }) => {
    res.body = person
  })
  return p
}

const issuerOf = (p: OAuth2Server) => p.issuer.url!

/** The browser's round trip: ShareSync → provider → ShareSync's callback. */
async function signIn(jar: CookieJar, id = 'corp', returnTo = '/me') {
  const start = await browserFetch(jar, `${server.url}/api/auth/oidc/${id}?returnTo=${encodeURIComponent(returnTo)}`)
  expect(start.status, await start.clone().text()).toBe(302)
  const authorize = new URL(start.headers.get('location')!)
  const back = await fetch(authorize, { redirect: 'manual' })
  expect(back.status).toBe(302)
  const callback = back.headers.get('location')!
  const answer = await browserFetch(jar, callback)
  return { authorize, callback, answer, landedOn: answer.headers.get('location') }
}

const me = async (jar: CookieJar) => {
  const res = await browserFetch(jar, `${server.url}/api/me`)
  return res.status === 200 ? ((await res.json()) as Me) : null
}

beforeAll(async () => {
  google = await startOAuthServer()
  provider = await startProvider()
  other = await startProvider()
  server = await startTestServer({
    ...google.env,
    OIDC_PROVIDERS: 'corp,lab',
    OIDC_CORP_ISSUER: issuerOf(provider),
    OIDC_CORP_CLIENT_ID: 'sharesync',
    OIDC_CORP_CLIENT_SECRET: 'corp-secret',
    OIDC_CORP_NAME: 'Corp SSO',
    OIDC_CORP_ADMIN_VALUE: 'sharesync-admins',
    OIDC_LAB_ISSUER: issuerOf(other),
    OIDC_LAB_CLIENT_ID: 'sharesync-lab',
    OIDC_LAB_CLIENT_SECRET: 'lab-secret',
    OIDC_LAB_BUTTON: 'Lab login',
  })
})
afterAll(async () => {
  await server?.close()
  await provider?.stop()
  await other?.stop()
  await google?.stop()
})

describe('OpenID Connect sign-in', () => {
  it('the app lists every provider next to Google, with its button label', async () => {
    const config = (await (await server.fetch('/api/config')).json()) as PublicConfig
    expect(config.auth.google).toBe(true)
    expect(config.auth.providers).toEqual([
      { id: 'corp', name: 'Corp SSO', button: 'Sign in with Corp SSO' },
      { id: 'lab', name: 'Lab', button: 'Lab login' },
    ])
  })

  it('signs in with state, nonce and PKCE (S256), and lands on returnTo with a session', async () => {
    person = { sub: 'corp-ada', email: 'ada@corp.example', email_verified: true, name: 'Ada' }
    const jar = new CookieJar()
    const { authorize, landedOn } = await signIn(jar)
    const q = authorize.searchParams
    expect(q.get('state')?.length).toBeGreaterThanOrEqual(32)
    expect(q.get('nonce')?.length).toBeGreaterThanOrEqual(32)
    expect(q.get('code_challenge_method')).toBe('S256')
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(q.get('scope')).toBe('openid email profile')
    expect(q.get('redirect_uri')).toBe(`${server.url}/api/auth/oidc/corp/callback`)
    expect(landedOn).toBe('/me')
    expect(await me(jar)).toMatchObject({ email: 'ada@corp.example', name: 'Ada', role: 'user' })
  })

  it('the admin role comes from the group claim', async () => {
    person = { sub: 'corp-root', email: 'root@corp.example', email_verified: true, groups: ['staff', 'sharesync-admins'] }
    const jar = new CookieJar()
    await signIn(jar)
    expect((await me(jar))?.role).toBe('admin')
    person = { sub: 'corp-staff', email: 'staff@corp.example', email_verified: true, groups: ['staff'] }
    const plain = new CookieJar()
    await signIn(plain)
    expect((await me(plain))?.role).toBe('user')
  })

  it('an ID token with a wrong nonce is refused: no session', async () => {
    person = { sub: 'corp-eve', email: 'eve@corp.example', email_verified: true }
    tamper = (payload) => void (payload.nonce = 'not-the-nonce-we-sent')
    const jar = new CookieJar()
    const { landedOn } = await signIn(jar)
    tamper = null
    expect(landedOn).toBe('/?signin_error=forbidden')
    expect(await me(jar)).toBeNull()
  })

  it('an ID token from another issuer is refused: no session', async () => {
    person = { sub: 'corp-mallory', email: 'mallory@corp.example', email_verified: true }
    tamper = (payload) => void (payload.iss = issuerOf(other))
    const jar = new CookieJar()
    const { landedOn } = await signIn(jar)
    tamper = null
    expect(landedOn).toBe('/?signin_error=forbidden')
    expect(await me(jar)).toBeNull()
    const [row] = await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE email = 'mallory@corp.example'`)
    expect(row!.n).toBe(0)
  })

  it('a replayed callback (state used once) and a callback without a pending sign-in get 403 state_invalid', async () => {
    person = { sub: 'corp-replay', email: 'replay@corp.example', email_verified: true }
    const jar = new CookieJar()
    const { callback } = await signIn(jar)
    const again = await browserFetch(jar, callback)
    expect(again.status).toBe(403)
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('state_invalid')
    const stranger = await browserFetch(new CookieJar(), callback)
    expect(stranger.status).toBe(403)
  })

  it('accounts are linked by (issuer, sub) only: a new e-mail keeps the account, another sub with a taken e-mail is refused', async () => {
    person = { sub: 'corp-bob', email: 'bob@corp.example', email_verified: true }
    const first = new CookieJar()
    await signIn(first)
    const bob = await me(first)
    person = { sub: 'corp-bob', email: 'robert@corp.example', email_verified: true }
    const renamed = new CookieJar()
    await signIn(renamed)
    expect((await me(renamed))?.id).toBe(bob!.id)

    // The same e-mail at another provider (another issuer) is another identity: refused, not linked.
    person = { sub: 'lab-bob', email: 'robert@corp.example', email_verified: true }
    const lab = new CookieJar()
    const { landedOn } = await signIn(lab, 'lab')
    expect(landedOn).toBe('/?signin_error=identity_conflict')
    expect(await me(lab)).toBeNull()
  })

  it('an unverified e-mail is refused; an unknown provider is 404', async () => {
    person = { sub: 'corp-unverified', email: 'unverified@corp.example', email_verified: false }
    const jar = new CookieJar()
    expect((await signIn(jar)).landedOn).toBe('/?signin_error=forbidden')
    for (const path of ['/api/auth/oidc/nope', '/api/auth/oidc/nope/callback?code=x&state=y', `/api/auth/oidc/${'x'.repeat(5000)}`]) {
      expect((await fetch(`${server.url}${path}`, { redirect: 'manual' })).status, path.slice(0, 40)).toBe(404)
    }
  })

  it('a provider that is down answers 503 auth_provider_unavailable, and the server keeps running', async () => {
    const down = await startTestServer({ OIDC_PROVIDERS: 'gone', OIDC_GONE_ISSUER: 'http://127.0.0.1:1', OIDC_GONE_CLIENT_ID: 'x', OIDC_GONE_CLIENT_SECRET: 'y' })
    try {
      const res = await fetch(`${down.url}/api/auth/oidc/gone`, { redirect: 'manual' })
      expect(res.status).toBe(503)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('auth_provider_unavailable')
      expect((await fetch(`${down.url}/api/health`)).status).toBe(200)
    } finally {
      await down.close()
    }
  })

  it('a provider with missing or bad settings stops the server at startup, naming each variable', () => {
    const load = () => loadConfig({ NODE_ENV: 'test', DATA_DIR: '/tmp/unused', OIDC_PROVIDERS: 'kc, bad-id ,google', OIDC_KC_ISSUER: 'ftp://x', OIDC_KC_SCOPES: 'email' })
    expect(load).toThrow(ConfigError)
    const problems = (() => {
      try {
        load()
        return []
      } catch (err) {
        return (err as ConfigError).problems
      }
    })()
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('OIDC_KC_CLIENT_ID'),
        expect.stringContaining('OIDC_KC_CLIENT_SECRET'),
        expect.stringContaining('OIDC_KC_ISSUER: must be an http(s) URL'),
        expect.stringContaining('OIDC_KC_SCOPES'),
        expect.stringContaining('"bad-id"'),
        expect.stringContaining('"google" is built in'),
      ]),
    )
  })

  it('one provider can be set without a list: OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET (id "oidc"), checked the same way', () => {
    const base = { NODE_ENV: 'test', DATA_DIR: '/tmp/unused' }
    const config = loadConfig({ ...base, OIDC_ISSUER: 'https://auth.example.com/application/o/sharesync/', OIDC_CLIENT_ID: 'sharesync', OIDC_CLIENT_SECRET: 's', OIDC_ADMIN_VALUE: 'sharesync-admins' })
    expect(config.oidc).toEqual([
      expect.objectContaining({ id: 'oidc', issuer: 'https://auth.example.com/application/o/sharesync/', clientId: 'sharesync', name: 'SSO', button: 'Sign in with SSO', adminClaim: 'groups', adminValue: 'sharesync-admins' }),
    ])
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ ...base, ...env })
        return []
      } catch (err) {
        return (err as ConfigError).problems
      }
    }
    expect(problems({ OIDC_ISSUER: 'ftp://x', OIDC_CLIENT_ID: 'c' })).toEqual(expect.arrayContaining([expect.stringContaining('OIDC_CLIENT_SECRET'), expect.stringContaining('OIDC_ISSUER: must be an http(s) URL')]))
    expect(problems({ OIDC_ISSUER: 'https://a', OIDC_CLIENT_ID: 'c', OIDC_CLIENT_SECRET: 's', OIDC_PROVIDERS: 'oidc' })).toEqual(expect.arrayContaining([expect.stringContaining('not both')]))
  })
})
