import type { ClaimSharesResponse, CreateShareResponse, Me, MyShare, MySharesResponse, SettingsResponse, UploadResponse } from '@sharesync/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './support/harness'
import { browserFetch, CookieJar, signInFlow, startOAuthServer, type FakeGoogleUser, type LocalOAuth } from './support/oauth'

const ALICE: FakeGoogleUser = { sub: 'g-alice', email: 'alice@example.com', name: 'Alice', email_verified: true }
const BOB: FakeGoogleUser = { sub: 'g-bob', email: 'bob@example.com', name: 'Bob', email_verified: true }
const ADMIN: FakeGoogleUser = { sub: 'g-admin', email: 'admin@example.com', name: 'Admin', email_verified: true }
const HOUR = 3600

let oauth: LocalOAuth
let server: TestServer

async function signIn(s: TestServer, user: FakeGoogleUser): Promise<CookieJar> {
  oauth.setUser(user)
  const jar = new CookieJar()
  const { response } = await signInFlow(s.url, jar)
  expect(response.status).toBe(302)
  return jar
}

/** A curl-style upload (raw body), as a signed-in browser (jar) or anonymously (null). */
async function upload(s: TestServer, jar: CookieJar | null, name: string, body: string, query = ''): Promise<Response> {
  return browserFetch(jar ?? new CookieJar(), `${s.url}/api/upload/${encodeURIComponent(name)}${query}`, {
    method: 'PUT',
    headers: { origin: s.url, 'content-type': 'text/plain' },
    body,
  })
}

async function myShares(s: TestServer, jar: CookieJar): Promise<MyShare[]> {
  const res = await browserFetch(jar, `${s.url}/api/me/shares`)
  expect(res.status).toBe(200)
  return ((await res.json()) as MySharesResponse).shares
}

const send = (s: TestServer, jar: CookieJar, method: string, path: string, body?: unknown) =>
  browserFetch(jar, `${s.url}${path}`, {
    method,
    headers: { origin: s.url, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })

beforeAll(async () => {
  oauth = await startOAuthServer()
  server = await startTestServer({
    ...oauth.env,
    ANON_MAX_FILE_SIZE: '1000',
    MAX_FILE_SIZE: '100000',
    DEFAULT_EXPIRY: '1h',
    ANON_MAX_EXPIRY: '1h',
    MAX_EXPIRY: '2d',
    ADMIN_EMAILS: 'admin@example.com',
  })
})
afterAll(async () => {
  await server?.close()
  await oauth?.stop()
})

describe('My shares', () => {
  it('lists my shares with name, size, downloads and expiry, newest first; anonymous gets 401', async () => {
    const alice = await signIn(server, ALICE)
    const first = (await (await upload(server, alice, 'notes.txt', 'hello world')).json()) as UploadResponse
    const second = (await (await upload(server, alice, 'report.csv', 'a,b\n1,2\n', `?expiresIn=${2 * HOUR}`)).json()) as UploadResponse
    const dl = await fetch(`${server.url}/api/shares/${first.id}/download`, { redirect: 'manual' })
    expect(dl.status).toBe(302)

    const shares = await myShares(server, alice)
    const ids = shares.map((s) => s.id)
    expect(ids.indexOf(second.id)).toBeLessThan(ids.indexOf(first.id))
    const notes = shares.find((s) => s.id === first.id)!
    expect(notes).toMatchObject({ names: ['notes.txt'], fileCount: 1, size: 11, downloads: 1, maxDownloads: null, status: 'ready', passwordProtected: false })
    expect(notes.url).toBe(`${server.url}/s/${first.id}`)
    expect(notes.expiresAt).toBe(first.expiresAt)
    const report = shares.find((s) => s.id === second.id)!
    expect(new Date(report.expiresAt).getTime() - Date.now()).toBeGreaterThan(1.9 * HOUR * 1000)

    const anon = await fetch(`${server.url}/api/me/shares`)
    expect(anon.status).toBe(401)
  })

  it('deleting a share removes it from the list, its link and its blob', async () => {
    const alice = await signIn(server, ALICE)
    const up = (await (await upload(server, alice, 'secret.txt', 'top secret')).json()) as UploadResponse
    const [file] = await server.deps.db.query<{ storage_key: string }>(`SELECT storage_key FROM files WHERE share_id = $1`, [up.id])
    expect(await server.deps.store.head(file!.storage_key)).not.toBeNull()

    const del = await send(server, alice, 'DELETE', `/api/me/shares/${up.id}`)
    expect(del.status).toBe(204)
    expect((await myShares(server, alice)).map((s) => s.id)).not.toContain(up.id)
    expect((await fetch(`${server.url}/api/shares/${up.id}`)).status).toBe(404)
    expect(await server.deps.store.head(file!.storage_key)).toBeNull()
    expect((await send(server, alice, 'DELETE', `/api/me/shares/${up.id}`)).status).toBe(404)
  })

  it('changing the expiry is bounded by the signed-in MAX_EXPIRY from creation, and must be in the future', async () => {
    const alice = await signIn(server, ALICE)
    const up = (await (await upload(server, alice, 'later.txt', 'later')).json()) as UploadResponse

    const ok = await send(server, alice, 'PATCH', `/api/me/shares/${up.id}`, { expiresIn: 24 * HOUR })
    expect(ok.status).toBe(200)
    const changed = (await ok.json()) as MyShare
    expect(Math.abs(new Date(changed.expiresAt).getTime() - (Date.now() + 24 * HOUR * 1000))).toBeLessThan(60_000)
    expect((await myShares(server, alice)).find((s) => s.id === up.id)!.expiresAt).toBe(changed.expiresAt)

    const tooLong = await send(server, alice, 'PATCH', `/api/me/shares/${up.id}`, { expiresIn: 3 * 24 * HOUR })
    expect(tooLong.status).toBe(400)
    expect(await tooLong.json()).toMatchObject({ error: { code: 'invalid_input' } })
    const past = await send(server, alice, 'PATCH', `/api/me/shares/${up.id}`, { expiresAt: new Date(Date.now() - 1000).toISOString() })
    expect(past.status).toBe(400)
    const both = await send(server, alice, 'PATCH', `/api/me/shares/${up.id}`, { expiresIn: 60, expiresAt: new Date().toISOString() })
    expect(both.status).toBe(400)
    const absolute = new Date(Date.now() + 36 * HOUR * 1000)
    const at = await send(server, alice, 'PATCH', `/api/me/shares/${up.id}`, { expiresAt: absolute.toISOString() })
    expect(at.status).toBe(200)
    expect(((await at.json()) as MyShare).expiresAt).toBe(absolute.toISOString())
    // Unchanged by the refused attempts in between, and the link still works.
    expect((await fetch(`${server.url}/api/shares/${up.id}`)).status).toBe(200)
  })

  it("an admin's lower signed-in max expiry bounds expiry changes at once", async () => {
    const admin = await signIn(server, ADMIN)
    const alice = await signIn(server, ALICE)
    const up = (await (await upload(server, alice, 'bounded.txt', 'bounded')).json()) as UploadResponse
    const current = (await (await browserFetch(admin, `${server.url}/api/admin/settings`)).json()) as SettingsResponse
    const lowered = { ...current.settings, defaultExpiry: HOUR, user: { ...current.settings.user, maxExpiry: 3 * HOUR } }
    expect((await send(server, admin, 'PUT', '/api/admin/settings', lowered)).status).toBe(200)
    try {
      expect((await send(server, alice, 'PATCH', `/api/me/shares/${up.id}`, { expiresIn: 24 * HOUR })).status).toBe(400)
      expect((await send(server, alice, 'PATCH', `/api/me/shares/${up.id}`, { expiresIn: 2 * HOUR })).status).toBe(200)
    } finally {
      expect((await send(server, admin, 'PUT', '/api/admin/settings', current.settings)).status).toBe(200)
    }
  })

  it('shares created before sign-in in the same browser can be claimed with their owner tokens', async () => {
    const anonUpload = (await (await upload(server, null, 'before.txt', 'made anonymously')).json()) as UploadResponse
    expect(anonUpload.ownerToken).toBeTruthy()
    const other = (await (await upload(server, null, 'other.txt', 'someone else')).json()) as UploadResponse

    const alice = await signIn(server, ALICE)
    const res = await send(server, alice, 'POST', '/api/me/shares/claim', {
      shares: [
        { id: anonUpload.id, ownerToken: anonUpload.ownerToken },
        { id: other.id, ownerToken: anonUpload.ownerToken },
        { id: 'AAAAAAAAAAAAAAAAAAAAAA', ownerToken: anonUpload.ownerToken },
      ],
    })
    expect(res.status).toBe(200)
    expect(((await res.json()) as ClaimSharesResponse).claimed).toEqual([anonUpload.id])
    const mine = await myShares(server, alice)
    expect(mine.map((s) => s.id)).toContain(anonUpload.id)
    expect(mine.map((s) => s.id)).not.toContain(other.id)

    // A claimed share cannot be claimed away by someone else holding the same token.
    const bob = await signIn(server, BOB)
    const steal = await send(server, bob, 'POST', '/api/me/shares/claim', { shares: [{ id: anonUpload.id, ownerToken: anonUpload.ownerToken }] })
    expect(((await steal.json()) as ClaimSharesResponse).claimed).toEqual([])
    expect((await send(server, bob, 'POST', '/api/me/shares/claim', { shares: [] })).status).toBe(400)
  })
})

describe("user B cannot read, delete or change user A's share", () => {
  it('through every route', async () => {
    const alice = await signIn(server, ALICE)
    const bob = await signIn(server, BOB)
    const bobMe = (await (await browserFetch(bob, `${server.url}/api/me`)).json()) as Me
    const ready = (await (await upload(server, alice, 'alice.txt', 'alice only')).json()) as UploadResponse
    const created = await send(server, alice, 'POST', '/api/shares', { files: [{ name: 'pending.bin', size: 10, type: 'application/octet-stream' }] })
    expect(created.status).toBe(201)
    const pending = (await created.json()) as CreateShareResponse
    const fileId = pending.files[0]!.id

    // read: not in B's list
    expect((await myShares(server, bob)).map((s) => s.id)).not.toEqual(expect.arrayContaining([ready.id]))
    expect((await myShares(server, bob)).map((s) => s.id)).not.toContain(pending.id)

    const attempts: [string, string, unknown][] = [
      ['DELETE', `/api/me/shares/${ready.id}`, undefined],
      ['PATCH', `/api/me/shares/${ready.id}`, { expiresIn: 60 }],
      ['DELETE', `/api/shares/${ready.id}`, undefined],
      ['POST', `/api/shares/${pending.id}/files/${fileId}/parts`, { partNumbers: [1] }],
      ['GET', `/api/shares/${pending.id}/files/${fileId}/parts`, undefined],
      ['POST', `/api/shares/${pending.id}/files/${fileId}/complete`, { parts: [] }],
      ['POST', `/api/shares/${pending.id}/finalize`, undefined],
      ['DELETE', `/api/shares/${pending.id}`, undefined],
      ['DELETE', `/api/me/shares/${pending.id}`, undefined],
    ]
    for (const [method, path, body] of attempts) {
      const res = await send(server, bob, method, path, body)
      expect([403, 404], `${method} ${path} -> ${res.status}`).toContain(res.status)
    }
    const claim = await send(server, bob, 'POST', '/api/me/shares/claim', { shares: [{ id: ready.id, ownerToken: ready.ownerToken ?? 'x'.repeat(22) }] })
    expect(((await claim.json()) as ClaimSharesResponse).claimed).toEqual([])

    // Nothing changed for A: both shares still A's, the ready one still downloadable with its expiry.
    const aliceShares = await myShares(server, alice)
    expect(aliceShares.find((s) => s.id === ready.id)?.expiresAt).toBe(ready.expiresAt)
    expect(aliceShares.find((s) => s.id === pending.id)?.status).toBe('uploading')
    expect((await fetch(`${server.url}/api/shares/${ready.id}`)).status).toBe(200)
    const owners = await server.deps.db.query<{ owner_user_id: string }>(`SELECT owner_user_id FROM shares WHERE id = ANY($1::text[])`, [[ready.id, pending.id]])
    expect(owners.every((o) => o.owner_user_id !== bobMe.id)).toBe(true)
  })
})

describe('upload policies', () => {
  it('signed-in limits apply to signed-in users, anonymous limits to the others', async () => {
    const alice = await signIn(server, ALICE)
    const big = 'x'.repeat(5000)
    const anonBig = await upload(server, null, 'big.txt', big)
    expect(anonBig.status).toBe(413)
    expect((await upload(server, alice, 'big.txt', big)).status).toBe(201)

    const anonLong = await upload(server, null, 'long.txt', 'x', `?expiresIn=${2 * HOUR}`)
    expect(anonLong.status).toBe(400)
    expect((await upload(server, alice, 'long.txt', 'x', `?expiresIn=${2 * HOUR}`)).status).toBe(201)
  })

  it('with ALLOW_ANONYMOUS_UPLOADS=false anonymous uploads get 401 with a clear message; signed-in uploads work', async () => {
    const closed = await startTestServer({ ...oauth.env, ALLOW_ANONYMOUS_UPLOADS: 'false' })
    try {
      for (const res of [
        await upload(closed, null, 'a.txt', 'anonymous'),
        await browserFetch(new CookieJar(), `${closed.url}/api/shares`, {
          method: 'POST',
          headers: { origin: closed.url, 'content-type': 'application/json' },
          body: JSON.stringify({ files: [{ name: 'a.txt', size: 1 }] }),
        }),
      ]) {
        expect(res.status).toBe(401)
        const body = (await res.json()) as { error: { code: string; message: string } }
        expect(body.error.code).toBe('anonymous_uploads_disabled')
        expect(body.error.message).toMatch(/sign in/i)
      }
      const alice = await signIn(closed, ALICE)
      expect((await upload(closed, alice, 'a.txt', 'signed in')).status).toBe(201)
    } finally {
      await closed.close()
    }
  })
})
