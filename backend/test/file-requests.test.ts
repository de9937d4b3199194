/**
 * File requests (reverse shares), on the real app (PGlite, disk store) with a real OAuth server for
 * the requesters and a real webhook receiver: a signed-in requester makes a request link, anyone
 * with it uploads into it through the share upload routes, the limits (total size, files, types,
 * uses, expiry, password) hold against honest and hostile uploaders, the requester is notified,
 * sees what arrived and turns it into a share. The requester's daily quota pays, not the uploader's.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type {
  CreateShareResponse,
  FileRequestList,
  FileRequestView,
  PublicFileRequest,
  UploadResponse,
  WebhookPayload,
} from '@sharesync/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiOf, uploadShare, type Api, type ApiBody } from './support/browser-upload'
import { startTestServer, type TestServer } from './support/harness'
import { browserFetch, CookieJar, signInFlow, startOAuthServer, type FakeGoogleUser, type LocalOAuth } from './support/oauth'

const ALICE: FakeGoogleUser = { sub: 'fr-alice', email: 'alice@example.com', name: 'Alice Requester', email_verified: true }
const BOB: FakeGoogleUser = { sub: 'fr-bob', email: 'bob@example.com', name: 'Bob', email_verified: true }
const MB = 1_000_000

let oauth: LocalOAuth
let server: TestServer
let hooks: Server
const received: WebhookPayload[] = []
let alice: Api
let bob: Api
let anon: Api

/** The API as a signed-in browser: the jar's session cookie, and the app's origin on every request. */
function signedApi(jar: CookieJar): Api {
  return apiOf(server.url, ((url: string, init: RequestInit = {}) =>
    browserFetch(jar, url, { ...init, headers: { ...(init.headers as Record<string, string>), origin: server.url } })) as typeof fetch)
}

async function signIn(user: FakeGoogleUser): Promise<Api> {
  oauth.setUser(user)
  const jar = new CookieJar()
  expect((await signInFlow(server.url, jar)).response.status).toBe(302)
  return signedApi(jar)
}

async function makeRequest(body: Record<string, unknown>, as: Api = alice): Promise<FileRequestView> {
  const res = await as<FileRequestView>('/api/me/requests', { body: { title: 'Tax papers', ...body } })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body
}

const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill)
const start = (id: string, files: unknown[], extra: Record<string, unknown> = {}) =>
  anon<ApiBody & Partial<CreateShareResponse>>(`/api/requests/${id}/uploads`, { body: { files, ...extra } })
const sharesOf = async (requestId: string) =>
  (await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM shares WHERE request_id = $1`, [requestId]))[0]!.n

beforeAll(async () => {
  hooks = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => (body += c))
    req.on('end', () => {
      received.push(JSON.parse(body) as WebhookPayload)
      res.end()
    })
  })
  await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve))
  oauth = await startOAuthServer()
  server = await startTestServer({
    ...oauth.env,
    // The requester's quota pays for uploads into their requests: an uploader's own (anonymous) quota is far smaller.
    DAILY_QUOTA: '40MB',
    ANON_DAILY_QUOTA: '2MB',
    UPLOAD_RATE_LIMIT: '80/1h',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_URL: `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook`,
    WEBHOOK_SECRET: 'a-global-webhook-secret-for-file-requests',
    NOTIFY_POLL_INTERVAL: '200ms',
  })
  anon = apiOf(server.url)
  alice = await signIn(ALICE)
  bob = await signIn(BOB)
})

afterAll(async () => {
  await server?.close()
  await oauth?.stop()
  await new Promise((resolve) => hooks?.close(resolve))
})

describe('file requests: what requesters and uploaders see', () => {
  it('an anonymous upload arrives for the requester, who is notified and turns it into a working share', async () => {
    const request = await makeRequest({ message: 'Please send the 2025 statements.', expiresIn: 86_400 })
    expect(request.url).toBe(`${server.url}/request/${request.id}`)
    const page = await anon<PublicFileRequest>(`/api/requests/${request.id}`)
    expect(page.status).toBe(200)
    expect(page.body).toMatchObject({
      title: 'Tax papers',
      message: 'Please send the 2025 statements.',
      requester: 'Alice Requester',
      passwordRequired: false,
      bytesLeft: null,
    })

    // 3 MB from someone whose own daily quota is 2 MB: the requester's quota pays.
    const content = bytes(3 * MB, 42)
    const upload = await uploadShare(
      anon,
      [{ name: 'statement.pdf', bytes: content, type: 'application/pdf', path: 'bank' }],
      {},
      `/api/requests/${request.id}/uploads`,
    )
    // The upload is not a link: the uploader cannot open or download it.
    expect((await anon(`/api/shares/${upload.id}`)).status).toBe(404)
    expect((await anon(`/api/shares/${upload.id}/download`)).status).toBe(404)
    // Nor can the uploader remove it once it arrived (their token only cancelled it while uploading).
    expect((await anon(`/api/shares/${upload.id}`, { method: 'DELETE', headers: { 'x-owner-token': upload.ownerToken } })).status).toBe(403)

    const seen = await alice<FileRequestView>(`/api/me/requests/${request.id}`)
    expect(seen.body.uses).toBe(1)
    expect(seen.body.uploads).toEqual([
      expect.objectContaining({
        id: upload.id,
        status: 'received',
        totalSize: 3 * MB,
        files: [{ name: 'statement.pdf', path: 'bank', size: 3 * MB, type: 'application/pdf' }],
      }),
    ])
    // Received uploads are not among the requester's links.
    const mine = await alice<{ shares: { id: string }[] }>('/api/me/shares')
    expect(mine.body.shares.map((s) => s.id)).not.toContain(upload.id)

    await expect
      .poll(() => received.find((p) => p.event === 'request.received' && p.share.id === upload.id), { timeout: 10_000 })
      .toBeTruthy()
    const notice = received.find((p) => p.event === 'request.received' && p.share.id === upload.id)!
    expect(notice.request).toEqual({ id: request.id, title: 'Tax papers', url: `${server.url}/me/requests#${request.id}` })
    expect(notice.share.name).toBe('statement.pdf')

    const shared = await alice<UploadResponse>(`/api/me/requests/${request.id}/uploads/${upload.id}/share`, {
      body: { expiresIn: 3600, maxDownloads: 2 },
    })
    expect(shared.status, JSON.stringify(shared.body)).toBe(201)
    expect(shared.body.id).not.toBe(upload.id)
    const meta = await anon<{ files: { id: string; name: string; size: number }[] }>(`/api/shares/${shared.body.id}`)
    expect(meta.body.files.map((f) => [f.name, f.size])).toEqual([['statement.pdf', 3 * MB]])
    const file = await fetch(`${server.url}/api/shares/${shared.body.id}/files/${meta.body.files[0]!.id}/download`)
    expect(Buffer.from(await file.arrayBuffer()).equals(Buffer.from(content))).toBe(true)
    // It left the request's list, and a second "make a share" of the same upload finds nothing.
    expect((await alice<FileRequestView>(`/api/me/requests/${request.id}`)).body.uploads).toEqual([])
    expect((await alice(`/api/me/requests/${request.id}/uploads/${upload.id}/share`, { body: {} })).status).toBe(404)
    expect((await alice<FileRequestList>('/api/me/requests')).body.requests.map((r) => r.id)).toContain(request.id)
  })

  it('a request with a 10 MB limit takes 10 MB and refuses the 11th MB with a clear message, storing nothing', async () => {
    const request = await makeRequest({ maxBytes: 10 * MB })
    // One 11 MB file is refused before anything is stored.
    const tooBig = await start(request.id, [{ name: 'big.bin', size: 11 * MB }])
    expect(tooBig.status).toBe(413)
    expect(tooBig.body.error).toEqual({
      code: 'request_limit_exceeded',
      message: 'This request accepts at most 10 MB in total; 10 MB are left, and these files hold 11 MB.',
    })
    await uploadShare(anon, [{ name: 'ten.bin', bytes: bytes(10 * MB) }], {}, `/api/requests/${request.id}/uploads`)
    // The 11th MB, in a second upload.
    const eleventh = await start(request.id, [{ name: 'one-more.bin', size: MB }])
    expect(eleventh.status).toBe(413)
    expect(eleventh.body.error?.message).toBe('This request accepts at most 10 MB in total; 0 bytes are left, and these files hold 1 MB.')
    expect(await sharesOf(request.id)).toBe(1)
    const view = (await alice<FileRequestView>(`/api/me/requests/${request.id}`)).body
    expect(view).toMatchObject({ usedBytes: 10 * MB, uses: 1, status: 'used_up' })
    // The part URLs accept only the declared bytes: a declared 1-byte file cannot carry a megabyte.
    const other = await makeRequest({ maxBytes: 2 })
    const small = await start(other.id, [{ name: 'tiny.txt', size: 1 }])
    const signed = await anon<{ parts: { url: string }[] }>(`/api/shares/${small.body.id}/files/${small.body.files![0]!.id}/parts`, {
      body: { partNumbers: [1] },
      headers: { 'x-owner-token': small.body.ownerToken! },
    })
    const put = await fetch(signed.body.parts[0]!.url, { method: 'PUT', body: Buffer.from(bytes(MB)) })
    expect(put.status).toBeGreaterThanOrEqual(400)
  })

  it('limits on files, types and uses hold; a replay after the uses are spent is refused', async () => {
    const files = await makeRequest({ maxFiles: 2 })
    const three = await start(
      files.id,
      [1, 2, 3].map((n) => ({ name: `f${n}.txt`, size: 1 })),
    )
    expect(three.status).toBe(413)
    expect(three.body.error?.message).toBe('This request accepts at most 2 files in total; 2 are left, and you chose 3.')

    const types = await makeRequest({ allowedTypes: ['.PDF', 'image/*'] })
    expect(types.allowedTypes).toEqual(['.pdf', 'image/*'])
    const exe = await start(types.id, [
      { name: 'photo.png', size: 1, type: 'image/png' },
      { name: 'invoice.pdf.exe', size: 1, type: 'application/x-msdownload' },
    ])
    expect(exe.status).toBe(415)
    expect(exe.body.error).toEqual({
      code: 'request_type_refused',
      message: '"invoice.pdf.exe" is not a type this request accepts (.pdf, image/*).',
    })
    expect(
      (
        await start(types.id, [
          { name: 'photo.png', size: 1, type: 'image/png' },
          { name: 'scan.PDF', size: 1 },
        ])
      ).status,
    ).toBe(201)

    const once = await makeRequest({ maxUses: 1 })
    await uploadShare(anon, [{ name: 'a.txt', bytes: bytes(5) }], {}, `/api/requests/${once.id}/uploads`)
    for (let replay = 0; replay < 2; replay++) {
      const again = await start(once.id, [{ name: 'a.txt', size: 5 }])
      expect(again.status).toBe(410)
      expect(again.body.error).toEqual({
        code: 'request_used_up',
        message: 'This file request has taken all the uploads it allows (1): it takes no more.',
      })
    }
    expect((await anon(`/api/requests/${once.id}`)).status).toBe(410)
    expect(await sharesOf(once.id)).toBe(1)
  })

  it('a flood of concurrent uploads into a 5-use request gets exactly 5 in', async () => {
    const request = await makeRequest({ maxUses: 5, maxBytes: 1000 })
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => start(request.id, [{ name: `n${i}.txt`, size: 10 }])))
    const statuses = answers.map((a) => a.status).sort()
    expect(statuses.filter((s) => s === 201)).toHaveLength(5)
    expect(statuses.filter((s) => s !== 201).every((s) => s === 410)).toBe(true)
    expect(await sharesOf(request.id)).toBe(5)
    expect((await alice<FileRequestView>(`/api/me/requests/${request.id}`)).body).toMatchObject({
      uses: 5,
      usedBytes: 50,
      status: 'used_up',
    })
  })

  it('an expired or closed request takes nothing and says why', async () => {
    const request = await makeRequest({})
    await server.deps.db.query(`UPDATE file_requests SET expires_at = now() - interval '1 second' WHERE id = $1`, [request.id])
    for (const res of [await anon(`/api/requests/${request.id}`), await start(request.id, [{ name: 'late.txt', size: 1 }])]) {
      expect(res.status).toBe(410)
      expect(res.body.error).toMatchObject({ code: 'request_expired', message: expect.stringMatching(/has expired/) })
    }
    expect((await alice<FileRequestView>(`/api/me/requests/${request.id}`)).body.status).toBe('expired')

    const closed = await makeRequest({})
    expect((await alice(`/api/me/requests/${closed.id}`, { method: 'DELETE' })).status).toBe(204)
    const late = await start(closed.id, [{ name: 'late.txt', size: 1 }])
    expect(late.status).toBe(410)
    expect(late.body.error?.message).toMatch(/was closed/)
    expect((await sharesOf(request.id)) + (await sharesOf(closed.id))).toBe(0)
  })

  it('a password-protected request shows only its title without the password, and takes uploads only with it', async () => {
    const request = await makeRequest({ password: 'open sesame', message: 'secret plans' })
    expect(request.passwordProtected).toBe(true)
    expect((await anon(`/api/requests/${request.id}`)).body).toEqual({ id: request.id, title: 'Tax papers', passwordRequired: true })
    const wrong = await anon(`/api/requests/${request.id}`, { headers: { 'x-request-password': 'guess' } })
    expect(wrong.status).toBe(401)
    expect(wrong.body.error?.code).toBe('password_invalid')
    expect(
      (await anon<PublicFileRequest>(`/api/requests/${request.id}`, { headers: { 'x-request-password': 'open sesame' } })).body.message,
    ).toBe('secret plans')
    const without = await start(request.id, [{ name: 'a.txt', size: 1 }])
    expect(without.status).toBe(401)
    expect(without.body.error?.code).toBe('password_required')
    expect((await start(request.id, [{ name: 'a.txt', size: 1 }], { password: 'nope' })).status).toBe(401)
    expect(await sharesOf(request.id)).toBe(0)
    expect((await start(request.id, [{ name: 'a.txt', size: 1 }], { password: 'open sesame' })).status).toBe(201)
  })
})

describe('file requests: attackers', () => {
  it("nobody reaches another person's request or what arrived in it", async () => {
    const request = await makeRequest({})
    const upload = await uploadShare(anon, [{ name: 'a.txt', bytes: bytes(3) }], {}, `/api/requests/${request.id}/uploads`)
    for (const [method, path, body] of [
      ['GET', `/api/me/requests/${request.id}`, undefined],
      ['DELETE', `/api/me/requests/${request.id}`, undefined],
      ['POST', `/api/me/requests/${request.id}/uploads/${upload.id}/share`, {}],
      ['DELETE', `/api/me/requests/${request.id}/uploads/${upload.id}`, undefined],
    ] as const) {
      const res = await bob(path, { method, body })
      expect(res.status, `${method} ${path}`).toBe(404)
      expect(res.body.error?.code).toBe('request_not_found')
    }
    expect((await bob<FileRequestList>('/api/me/requests')).body.requests).toEqual([])
    expect((await anon('/api/me/requests')).status).toBe(401)
    expect((await anon('/api/me/requests', { body: { title: 'x' } })).status).toBe(401)
    // Bob's own request cannot take Alice's upload, nor can Alice turn one of her links into a "received" share.
    const bobs = await makeRequest({}, bob)
    expect((await bob(`/api/me/requests/${bobs.id}/uploads/${upload.id}/share`, { body: {} })).status).toBe(404)
    const link = await uploadShare(alice, [{ name: 'mine.txt', bytes: bytes(2) }])
    expect((await alice(`/api/me/requests/${request.id}/uploads/${link.id}/share`, { body: {} })).status).toBe(404)
    // Malformed and unknown ids answer 404 like each other.
    for (const id of ['nope', 'A'.repeat(22), 'A'.repeat(65), '%00']) expect((await anon(`/api/requests/${id}`)).status).toBe(404)
    // The requester removes what arrived: it is gone from the list and from storage's records.
    expect((await alice(`/api/me/requests/${request.id}/uploads/${upload.id}`, { method: 'DELETE' })).status).toBe(204)
    expect((await alice<FileRequestView>(`/api/me/requests/${request.id}`)).body.uploads).toEqual([])
  })

  it('hostile names, paths, sizes and bodies get a clear 400 and store nothing', async () => {
    const request = await makeRequest({ maxBytes: 100 * MB })
    for (const files of [
      [{ name: 'x', size: 1, path: '../outside' }],
      [{ name: 'x', size: 1, path: '/etc' }],
      [{ name: '../x', size: 1, path: 'a' }],
      [{ name: 'x', size: -1 }],
      [{ name: 'x', size: 1.5 }],
      [{ name: 'x', size: 1e300 }],
      [{ name: '', size: 1 }],
      [{ name: 'x'.repeat(10_001), size: 1 }],
      [],
      Array.from({ length: 101 }, (_, i) => ({ name: `${i}`, size: 1 })),
      [
        { name: 'dup', size: 1, path: 'a' },
        { name: 'dup', size: 1, path: 'a' },
      ],
    ]) {
      const res = await start(request.id, files)
      expect(res.status, JSON.stringify(files).slice(0, 80)).toBe(400)
      expect(res.body.error?.code).toBe('invalid_input')
    }
    expect((await start(request.id, [{ name: 'x', size: 1 }], { ownerUserId: 'someone' })).status).toBe(400)
    expect((await anon(`/api/requests/${request.id}/uploads`, { body: '{"files": [' })).status).toBe(400)
    for (const body of [
      { title: '' },
      { title: 'x'.repeat(201) },
      { title: 'x', maxBytes: -5 },
      { title: 'x', allowedTypes: ['<script>'] },
      { title: 'x', expiresIn: 10 ** 12 },
      { title: 'x', maxUses: 0 },
    ]) {
      const res = await alice('/api/me/requests', { body })
      expect(res.status, JSON.stringify(body)).toBe(400)
    }
    expect(await sharesOf(request.id)).toBe(0)
    expect((await alice<FileRequestView>(`/api/me/requests/${request.id}`)).body).toMatchObject({ uses: 0, usedBytes: 0 })
  })

  it("the requester's daily quota pays: more than it has left is refused with who is out of quota", async () => {
    const request = await makeRequest({})
    const res = await start(request.id, [{ name: 'huge.bin', size: 39 * MB }])
    expect(res.status).toBe(413)
    expect(res.body.error).toMatchObject({
      code: 'quota_exceeded',
      message: expect.stringMatching(/person who asked for these files has used up their daily storage quota/),
    })
    expect(await sharesOf(request.id)).toBe(0)
    expect((await alice<FileRequestView>(`/api/me/requests/${request.id}`)).body.uses).toBe(0)
  })

  it('a flood of upload starts from one address is rate limited (429) without using up the request', async () => {
    const request = await makeRequest({})
    let limited = 0
    for (let i = 0; i < 90 && limited === 0; i++) {
      const res = await start(request.id, [{ name: 'f.txt', size: 0 }])
      if (res.status === 429) limited++
      else expect(res.status).toBe(201)
    }
    expect(limited).toBe(1)
    const uses = (await alice<FileRequestView>(`/api/me/requests/${request.id}`)).body.uses
    expect(uses).toBe(await sharesOf(request.id))
  })
})
