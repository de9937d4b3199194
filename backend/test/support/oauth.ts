/**
 * A real OAuth2/OIDC server on loopback (oauth2-mock-server) standing in for Google, and a tiny
 * browser: a cookie jar and manual redirects, so tests drive the same redirect flow a browser does.
 */
import { OAuth2Server } from 'oauth2-mock-server'

export interface FakeGoogleUser {
  sub: string
  email: string
  name?: string
  picture?: string
  email_verified?: boolean | string
}

export interface LocalOAuth {
  server: OAuth2Server
  url: string
  /** GOOGLE_* variables pointing ShareSync at this server */
  env: Record<string, string>
  /** the account the next sign-in returns from the userinfo endpoint */
  setUser(user: FakeGoogleUser): void
  /** userinfo requests served so far */
  userinfoCalls: () => number
  stop(): Promise<void>
}

export async function startOAuthServer(): Promise<LocalOAuth> {
  const server = new OAuth2Server()
  await server.issuer.keys.generate('RS256')
  await server.start(0, '127.0.0.1')
  const url = `http://127.0.0.1:${server.address().port}`
  let user: FakeGoogleUser = { sub: 'sub-default', email: 'default@example.com', email_verified: true }
  let calls = 0
  server.service.on('beforeUserinfo', (res: { body: unknown; statusCode: number }) => {
    calls++
    res.body = { name: '', ...user }
  })
  return {
    server,
    url,
    env: {
      GOOGLE_CLIENT_ID: 'sharesync-test-client',
      GOOGLE_CLIENT_SECRET: 'sharesync-test-secret',
      GOOGLE_AUTH_URL: `${url}/authorize`,
      GOOGLE_TOKEN_URL: `${url}/token`,
      GOOGLE_USERINFO_URL: `${url}/userinfo`,
    },
    setUser: (u) => void (user = u),
    userinfoCalls: () => calls,
    stop: () => server.stop(),
  }
}

/** Cookies by name, as a browser would keep them for one site. */
export class CookieJar {
  readonly cookies = new Map<string, string>()
  /** raw Set-Cookie headers seen, newest last */
  readonly setCookies: string[] = []

  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      this.setCookies.push(line)
      const [pair] = line.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq).trim()
      const value = pair!.slice(eq + 1).trim()
      const expired = /expires=Thu, 01 Jan 1970/i.test(line) || /max-age=0/i.test(line)
      if (expired || value === '') this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  get(name: string): string | undefined {
    return this.cookies.get(name)
  }

  clone(): CookieJar {
    const c = new CookieJar()
    for (const [k, v] of this.cookies) c.cookies.set(k, v)
    return c
  }
}

/** fetch without following redirects, carrying and storing the jar's cookies. */
export async function browserFetch(jar: CookieJar, url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers)
  const cookie = jar.header()
  if (cookie) headers.set('cookie', cookie)
  const res = await fetch(url, { ...init, headers, redirect: 'manual' })
  jar.store(res)
  return res
}

export interface SignInResult {
  /** the redirect to the authorization server (carries state, PKCE challenge) */
  authorizeUrl: URL
  /** the authorization server's redirect back to ShareSync (code + state) */
  callbackUrl: string
  /** the final answer of the callback */
  response: Response
  /** where the browser lands (Location of the callback's redirect) */
  landedOn: string | null
}

/**
 * The whole browser flow: /api/auth/google -> authorization server -> /api/auth/google/callback.
 * `rewriteCallback` maps the callback URL onto the test server (when PUBLIC_URL names another host).
 */
export async function signInFlow(baseUrl: string, jar: CookieJar, opts: { returnTo?: string; rewriteCallback?: (u: string) => string; headers?: Record<string, string> } = {}): Promise<SignInResult> {
  const start = new URL('/api/auth/google', baseUrl)
  if (opts.returnTo !== undefined) start.searchParams.set('returnTo', opts.returnTo)
  const first = await browserFetch(jar, start.toString(), { headers: opts.headers })
  if (first.status !== 302) throw new Error(`sign-in start answered ${first.status}: ${await first.text()}`)
  const authorizeUrl = new URL(first.headers.get('location')!)
  const second = await fetch(authorizeUrl, { redirect: 'manual' })
  if (second.status !== 302) throw new Error(`authorization server answered ${second.status}`)
  let callbackUrl = second.headers.get('location')!
  if (opts.rewriteCallback) callbackUrl = opts.rewriteCallback(callbackUrl)
  const response = await browserFetch(jar, callbackUrl, { headers: opts.headers })
  return { authorizeUrl, callbackUrl, response, landedOn: response.headers.get('location') }
}
