/**
 * The admin's share policies: "links made without signing in need a password" (ANON_PASSWORD_REQUIRED,
 * or the admin setting), and the share rules per audience (anonymous, signed-in, admin): password
 * required, end-to-end encryption required, allowed expiry presets, allowed download-limit presets.
 * Enforced on every way to make a link — browser uploads, curl uploads, text shares, a file request's
 * upload made a share — with a clear JSON error and nothing stored; links that follow the rules pass.
 */
import type { AudienceRules, FileRequestView, PublicConfig, SettingsResponse, ShareRules } from '@sharesync/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiOf, uploadShare, type Api, type ApiBody } from './support/browser-upload'
import { startTestServer, type TestServer } from './support/harness'
import { browserFetch, CookieJar, signInFlow, startOAuthServer, type FakeGoogleUser, type LocalOAuth } from './support/oauth'

const ROOT: FakeGoogleUser = { sub: 'sp-root', email: 'root@example.com', name: 'Root', email_verified: true }
const ALICE: FakeGoogleUser = { sub: 'sp-alice', email: 'alice@example.com', name: 'Alice', email_verified: true }

let oauth: LocalOAuth
let server: TestServer
let api: Api
beforeAll(async () => {
  oauth = await startOAuthServer()
  server = await startTestServer({ ...oauth.env, ADMIN_EMAILS: ROOT.email, ANON_PASSWORD_REQUIRED: 'true', UPLOAD_RATE_LIMIT: '1000/1h' })
  api = apiOf(server.url)
})
afterAll(async () => {
  await server?.close()
  await oauth?.stop()
})

const shares = async () => (await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM shares`))[0]!.n

describe('a policy "password required for anonymous links"', () => {
  it('refuses an anonymous link without a password with 400 password_required_by_policy and stores nothing', async () => {
    const before = await shares()
    for (const [path, body] of [
      ['/api/shares', { files: [{ name: 'a.txt', size: 3 }] }],
      ['/api/shares', { files: [{ name: 'a.txt', size: 3 }], password: null }],
      ['/api/texts', { text: 'secret' }],
    ] as const) {
      const res = await api<{ error: { code: string; message: string } }>(path, { body })
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(res.body.error.code).toBe('password_required_by_policy')
      expect(res.body.error.message).toMatch(/requires a password/)
    }
    // An empty password is no password (refused as it is, 400 too).
    expect((await api('/api/shares', { body: { files: [{ name: 'a.txt', size: 3 }], password: '' } })).status).toBe(400)
    const curl = await fetch(`${server.url}/api/upload/a.txt`, { method: 'PUT', body: 'abc' })
    expect(curl.status).toBe(400)
    expect(((await curl.json()) as { error: { code: string } }).error.code).toBe('password_required_by_policy')
    expect(await shares()).toBe(before)
  })

  it('accepts an anonymous link with a password, and /api/config tells the web app about the policy', async () => {
    const share = await uploadShare(api, [{ name: 'a.txt', bytes: Buffer.from('abc') }], { password: 'hunter2' })
    expect((await api<{ passwordRequired: boolean }>(`/api/shares/${share.id}`)).body.passwordRequired).toBe(true)
    expect((await api('/api/texts', { body: { text: 'secret', password: 'hunter2' } })).status).toBe(201)
    const curl = await fetch(`${server.url}/api/upload/a.txt?password=hunter2`, { method: 'PUT', body: 'abc' })
    expect(curl.status).toBe(201)
    expect((await api<{ passwordRequired: { anonymous: boolean } }>('/api/config')).body.passwordRequired).toEqual({ anonymous: true })
  })
})

/** The API as a signed-in browser (session cookie, the app's origin). */
async function signIn(user: FakeGoogleUser): Promise<Api> {
  oauth.setUser(user)
  const jar = new CookieJar()
  expect((await signInFlow(server.url, jar)).response.status).toBe(302)
  return apiOf(server.url, ((url: string, init: RequestInit = {}) =>
    browserFetch(jar, url, { ...init, headers: { ...(init.headers as Record<string, string>), origin: server.url } })) as typeof fetch)
}

const HOUR = 3600
const DAY = 86_400
const open: AudienceRules = {
  passwordRequired: false,
  encryptionRequired: false,
  expiryPresets: null,
  downloadPresets: null,
  unlimitedDownloads: true,
}
const metadata = 'U1NN' + 'A'.repeat(60)
const file = [{ name: 'a.txt', size: 3 }]
const codeOf = (res: { body: unknown }) => (res.body as ApiBody).error?.code

describe('share rules per audience (anonymous, signed-in, admin)', () => {
  let root: Api
  let alice: Api
  let base: SettingsResponse['settings']
  const put = (shareRules: Partial<ShareRules>) =>
    root<SettingsResponse>('/api/admin/settings', {
      method: 'PUT',
      body: { ...base, shareRules: { anonymous: open, user: open, admin: open, ...shareRules } },
    })

  beforeAll(async () => {
    root = await signIn(ROOT)
    alice = await signIn(ALICE)
    base = (await root<SettingsResponse>('/api/admin/settings')).body.settings
    expect(base.shareRules).toEqual({ anonymous: open, user: open, admin: open })
  })
  afterAll(async () => {
    await root('/api/admin/settings', { method: 'PUT', body: base })
  })

  it('allowed expiry presets: a signed-in link must use one (plain and encrypted uploads, text), the default falls on one, admins keep their own rules', async () => {
    expect((await put({ user: { ...open, expiryPresets: [HOUR, DAY] } })).status).toBe(200)
    const before = await shares()
    for (const [path, body] of [
      ['/api/shares', { files: file, expiresIn: 2 * HOUR }],
      ['/api/shares', { encrypted: true, metadata, files: [{ size: 64 }], expiresIn: 7 * DAY }],
      ['/api/texts', { text: 'hello', expiresIn: 60 }],
    ] as const) {
      const res = await alice(path, { body })
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(codeOf(res)).toBe('expiry_not_allowed')
      expect((res.body as ApiBody).error!.message).toMatch(/3600, 86400 seconds/)
    }
    expect(await shares()).toBe(before)
    // Allowed presets pass; a link without expiresIn gets an allowed one (the default is 1 day here or the nearest preset).
    expect((await alice('/api/texts', { body: { text: 'hello', expiresIn: HOUR } })).status).toBe(201)
    const implicit = await alice<{ expiresAt: string }>('/api/texts', { body: { text: 'hello' } })
    expect(implicit.status).toBe(201)
    const lifetime = (Date.parse(implicit.body.expiresAt) - Date.now()) / 1000
    expect(
      [HOUR, DAY].some((p) => Math.abs(p - lifetime) < 60),
      String(lifetime),
    ).toBe(true)
    // The admin is another audience: their own (open) rules apply.
    expect((await root('/api/texts', { body: { text: 'hello', expiresIn: 2 * HOUR } })).status).toBe(201)
    // /api/config tells the web app, per audience.
    const config = (await api<PublicConfig>('/api/config')).body
    expect(config.shareRules.user.expiryPresets).toEqual([HOUR, DAY])
    expect(config.shareRules.admin.expiryPresets).toBeNull()
  })

  it('allowed expiry presets hold when a link is edited in My shares: only a preset, and never longer from creation than the longest one', async () => {
    expect((await put({ user: { ...open, expiryPresets: [HOUR, DAY] } })).status).toBe(200)
    const made = await alice<{ id: string }>('/api/texts', { body: { text: 'edit me', expiresIn: HOUR } })
    expect(made.status).toBe(201)
    const expiry = async () => (await server.deps.db.query<{ at: Date }>(`SELECT expires_at AS at FROM shares WHERE id = $1`, [made.body.id]))[0]!.at.getTime()
    const before = await expiry()
    for (const body of [{ expiresIn: 7 * DAY }, { expiresIn: 2 * HOUR }, { expiresAt: new Date(Date.now() + 2 * HOUR * 1000).toISOString() }]) {
      const res = await alice(`/api/me/shares/${made.body.id}`, { method: 'PATCH', body })
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(codeOf(res)).toBe('expiry_not_allowed')
    }
    expect(await expiry()).toBe(before)
    // A preset passes; the longest preset from creation is the end (a day from now is a few ms past it).
    expect((await alice(`/api/me/shares/${made.body.id}`, { method: 'PATCH', body: { expiresIn: HOUR } })).status).toBe(200)
    await new Promise((done) => setTimeout(done, 5))
    const late = await alice(`/api/me/shares/${made.body.id}`, { method: 'PATCH', body: { expiresIn: DAY } })
    expect(late.status).toBe(400)
    expect((late.body as ApiBody).error!.message).toMatch(/at most 86400 seconds from its creation/)
  })

  it('allowed download limits: only the presets, and "unlimited" only when allowed — for anonymous links too, on curl', async () => {
    expect(
      (await put({ anonymous: { ...open, downloadPresets: [1, 5], unlimitedDownloads: false }, user: { ...open, downloadPresets: [10] } }))
        .status,
    ).toBe(200)
    const before = await shares()
    // Anonymous (the environment still asks them for a password): no limit, or 3, is refused.
    for (const body of [
      { files: file, password: 'hunter2' },
      { files: file, password: 'hunter2', maxDownloads: null },
      { files: file, password: 'hunter2', maxDownloads: 3 },
    ]) {
      const res = await api('/api/shares', { body })
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(codeOf(res)).toBe('download_limit_not_allowed')
    }
    for (const query of ['password=hunter2', 'password=hunter2&maxDownloads=3']) {
      const curl = await fetch(`${server.url}/api/upload/a.txt?${query}`, { method: 'PUT', body: 'abc' })
      expect(curl.status, query).toBe(400)
      expect(((await curl.json()) as ApiBody).error!.code).toBe('download_limit_not_allowed')
    }
    // Signed-in: 10 or unlimited; 9 is refused.
    expect(codeOf(await alice('/api/texts', { body: { text: 'x', maxDownloads: 9 } }))).toBe('download_limit_not_allowed')
    expect(await shares()).toBe(before)
    expect((await alice('/api/texts', { body: { text: 'x', maxDownloads: 10 } })).status).toBe(201)
    expect((await alice('/api/texts', { body: { text: 'x' } })).status).toBe(201)
    const curl = await fetch(`${server.url}/api/upload/a.txt?password=hunter2&maxDownloads=5`, { method: 'PUT', body: 'abc' })
    expect(curl.status).toBe(201)
    expect(
      (await uploadShare(api, [{ name: 'a.txt', bytes: Buffer.from('abc') }], { password: 'hunter2', maxDownloads: 1 })).id,
    ).toBeTruthy()
  })

  it('password and encryption required for signed-in users: plain or password-less links are refused, encrypted ones with a password pass', async () => {
    expect((await put({ user: { ...open, passwordRequired: true, encryptionRequired: true } })).status).toBe(200)
    const before = await shares()
    expect(codeOf(await alice('/api/shares', { body: { files: file, password: 'pw' } }))).toBe('encryption_required')
    expect((await alice('/api/shares', { body: { files: file, password: 'pw' } })).status).toBe(403)
    expect(codeOf(await alice('/api/texts', { body: { text: 'x', password: 'pw' } }))).toBe('encryption_required')
    expect(codeOf(await alice('/api/shares', { body: { encrypted: true, metadata, files: [{ size: 64 }] } }))).toBe(
      'password_required_by_policy',
    )
    expect(await shares()).toBe(before)
    expect((await alice('/api/shares', { body: { encrypted: true, metadata, files: [{ size: 64 }], password: 'pw' } })).status).toBe(201)
    // The admin's rules are open: a plain link without a password is fine for them.
    expect((await root('/api/texts', { body: { text: 'x' } })).status).toBe(201)
    // And file requests (whose uploads are not encrypted) are refused to this audience.
    expect(codeOf(await alice('/api/me/requests', { body: { title: 'Papers' } }))).toBe('encryption_required')
  })

  it("a file request's upload made a share follows the requester's rules", async () => {
    expect((await put({})).status).toBe(200)
    const request = await alice<FileRequestView>('/api/me/requests', { body: { title: 'Papers' } })
    expect(request.status).toBe(201)
    const upload = await uploadShare(api, [{ name: 'p.pdf', bytes: Buffer.from('pdf') }], {}, `/api/requests/${request.body.id}/uploads`)
    expect(
      (await put({ user: { ...open, passwordRequired: true, expiryPresets: [DAY], downloadPresets: [2], unlimitedDownloads: false } }))
        .status,
    ).toBe(200)
    const toShare = (body: Record<string, unknown>) => alice(`/api/me/requests/${request.body.id}/uploads/${upload.id}/share`, { body })
    expect(codeOf(await toShare({ expiresIn: DAY, maxDownloads: 2 }))).toBe('password_required_by_policy')
    expect(codeOf(await toShare({ password: 'pw', expiresIn: HOUR, maxDownloads: 2 }))).toBe('expiry_not_allowed')
    expect(codeOf(await toShare({ password: 'pw', expiresIn: DAY }))).toBe('download_limit_not_allowed')
    expect((await toShare({ password: 'pw', expiresIn: DAY, maxDownloads: 2 })).status).toBe(201)
  })

  it('a crafted body cannot bypass the rules, and hostile rules are refused with 400 and nothing stored', async () => {
    expect(
      (
        await put({
          anonymous: { ...open, passwordRequired: true, downloadPresets: [1], unlimitedDownloads: false, expiryPresets: [HOUR] },
        })
      ).status,
    ).toBe(200)
    // Extra fields, strings for numbers, a role claim: refused or ignored, never a way around the rules.
    for (const body of [
      { files: file, password: 'pw', expiresIn: HOUR, maxDownloads: 0 },
      { files: file, password: 'pw', expiresIn: HOUR, maxDownloads: '1' },
      // claiming the admin's audience (whose rules are open) changes nothing: the session decides
      { files: file, expiresIn: 2 * HOUR, maxDownloads: null, role: 'admin', audience: 'admin', user: { role: 'admin' } },
      { files: file, password: 'pw', expiresIn: HOUR + 1, maxDownloads: 1 },
    ]) {
      const res = await api('/api/shares', { body })
      expect(res.status, JSON.stringify(body)).toBe(400)
    }
    const curl = await fetch(`${server.url}/api/upload/a.txt?password=pw&maxDownloads=1&expiresIn=7200`, { method: 'PUT', body: 'abc' })
    expect(((await curl.json()) as ApiBody).error!.code).toBe('expiry_not_allowed')
    const saved = (await root<SettingsResponse>('/api/admin/settings')).body
    for (const rules of [
      { ...open, expiryPresets: [] },
      { ...open, downloadPresets: [] },
      { ...open, expiryPresets: Array.from({ length: 21 }, (_, i) => (i + 1) * HOUR) },
      { ...open, expiryPresets: [HOUR, HOUR] },
      { ...open, expiryPresets: [-1] },
      { ...open, expiryPresets: [1e12] },
      { ...open, downloadPresets: [1.5] },
      { ...open, downloadPresets: [2_000_000] },
      { ...open, expiryPresets: ['3600'] },
      { ...open, unlimitedDownloads: 'yes' },
      { ...open, extra: true },
    ]) {
      const res = await root('/api/admin/settings', {
        method: 'PUT',
        body: { ...base, shareRules: { anonymous: open, user: rules, admin: open } },
      })
      expect(res.status, JSON.stringify(rules).slice(0, 200)).toBe(400)
      expect(codeOf(res)).toBe('invalid_input')
    }
    // A hostile size: a body of 100,000 presets is cut off before it is parsed (413, JSON error).
    const huge = await root('/api/admin/settings', {
      method: 'PUT',
      body: {
        ...base,
        shareRules: { anonymous: open, user: { ...open, expiryPresets: Array.from({ length: 100_000 }, (_, i) => i + 1) }, admin: open },
      },
    })
    expect(huge.status).toBe(413)
    expect(codeOf(huge)).toBeTruthy()
    // Presets all beyond the audience's maximum expiry leave nothing to choose: refused too.
    const beyond = await root('/api/admin/settings', {
      method: 'PUT',
      body: { ...base, shareRules: { anonymous: { ...open, expiryPresets: [base.anonymous.maxExpiry + 1] }, user: open, admin: open } },
    })
    expect(codeOf(beyond)).toBe('invalid_input')
    // A signed-in user is no admin: they cannot change the rules.
    expect((await alice('/api/admin/settings', { method: 'PUT', body: { ...base } })).status).toBe(403)
    expect((await root<SettingsResponse>('/api/admin/settings')).body).toEqual(saved)
  })
})
