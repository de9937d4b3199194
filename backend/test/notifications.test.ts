/**
 * Notifications: a real SMTP server (smtp-server) and real webhook receivers on loopback, the real
 * app on PGlite. Owners ask per share; e-mails and signed webhooks arrive; failed deliveries are
 * retried from the database queue; nothing is sent for shares that did not ask.
 */
import { createHmac } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  WEBHOOK_HEADERS,
  type LibraryAccess,
  type NotificationChannels,
  type NotificationDelivery,
  type Page,
  type UploadResponse,
  type WebhookPayload,
} from '@sharesync/protocol'
import { SMTPServer } from 'smtp-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './support/harness'
import { browserFetch, CookieJar, signInFlow, startOAuthServer, type FakeGoogleUser, type LocalOAuth } from './support/oauth'

const OWNER: FakeGoogleUser = { sub: 'n-owner', email: 'owner@example.com', name: 'Owner', email_verified: true }
const OTHER: FakeGoogleUser = { sub: 'n-other', email: 'other@example.com', name: 'Other', email_verified: true }
const ADMIN: FakeGoogleUser = { sub: 'n-admin', email: 'ops@example.com', name: 'Ops', email_verified: true }

interface Received {
  headers: IncomingMessage['headers']
  body: string
  payload: WebhookPayload
}

/** A webhook receiver on loopback: records every POST, answers with the next planned status (then 200). */
async function receiver() {
  const got: Received[] = []
  const waiting: { check: (r: Received) => boolean; resolve: (r: Received) => void }[] = []
  const plan: number[] = []
  const server: Server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => (body += c))
    req.on('end', () => {
      const r = { headers: req.headers, body, payload: JSON.parse(body) as WebhookPayload }
      got.push(r)
      res.statusCode = plan.shift() ?? 200
      res.end()
      for (const w of waiting.filter((x) => x.check(r))) {
        waiting.splice(waiting.indexOf(w), 1)
        w.resolve(r)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/sharesync?team=1`
  return {
    url,
    got,
    plan,
    /** resolves with the first POST (already received or still to come) matching `check` */
    next(check: (r: Received) => boolean, count = 1): Promise<Received> {
      const seen = got.filter(check)
      if (seen.length >= count) return Promise.resolve(seen[count - 1]!)
      return new Promise((resolve) => {
        let n = seen.length
        waiting.push({
          check: (r) => check(r) && ++n >= count,
          resolve,
        })
      })
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

interface Mail {
  to: string[]
  raw: string
}

let oauth: LocalOAuth
let server: TestServer
let smtp: SMTPServer
const mails: Mail[] = []
const mailWaiters: ((m: Mail) => void)[] = []
let hooks: Awaited<ReturnType<typeof receiver>>
let global: Awaited<ReturnType<typeof receiver>>
let owner: CookieJar
let other: CookieJar
let admin: CookieJar
let secret: string

async function signIn(user: FakeGoogleUser): Promise<CookieJar> {
  oauth.setUser(user)
  const jar = new CookieJar()
  const { response } = await signInFlow(server.url, jar)
  expect(response.status).toBe(302)
  return jar
}

const send = (jar: CookieJar, method: string, path: string, body?: unknown) =>
  browserFetch(jar, `${server.url}${path}`, {
    method,
    headers: { origin: server.url, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })

async function upload(jar: CookieJar, name: string, query = ''): Promise<UploadResponse> {
  const res = await browserFetch(jar, `${server.url}/api/upload/${encodeURIComponent(name)}${query}`, {
    method: 'PUT',
    headers: { origin: server.url },
    body: `contents of ${name}`,
  })
  expect(res.status).toBe(201)
  return (await res.json()) as UploadResponse
}

/** A whole download, read to its last byte (the recipient's path: the share's route, then its redirect). */
async function downloadOnce(id: string): Promise<void> {
  const res = await fetch(`${server.url}/api/shares/${id}/download`)
  expect(res.status).toBe(200)
  await res.arrayBuffer()
}

function nextMail(check: (m: Mail) => boolean): Promise<Mail> {
  const seen = mails.find(check)
  if (seen) return Promise.resolve(seen)
  return new Promise((resolve) => {
    const waiter = (m: Mail) => {
      if (!check(m)) return
      mailWaiters.splice(mailWaiters.indexOf(waiter), 1)
      resolve(m)
    }
    mailWaiters.push(waiter)
  })
}

function verify(r: Received, key: string): boolean {
  const timestamp = r.headers[WEBHOOK_HEADERS.timestamp] as string
  const expected = `v1=${createHmac('sha256', key).update(`${timestamp}.${r.body}`).digest('hex')}`
  return r.headers[WEBHOOK_HEADERS.signature] === expected
}

async function deliveries(query = ''): Promise<NotificationDelivery[]> {
  const res = await browserFetch(admin, `${server.url}/api/admin/notifications?limit=100${query}`)
  expect(res.status).toBe(200)
  return ((await res.json()) as Page<NotificationDelivery>).items
}

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      let raw = ''
      stream.setEncoding('utf8')
      stream.on('data', (c: string) => (raw += c))
      stream.on('end', () => {
        // The text part is quoted-printable: undo its soft line breaks and =XX escapes to read it.
        const text = raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
        const mail = { to: session.envelope.rcptTo.map((r) => r.address), raw: text }
        mails.push(mail)
        for (const w of [...mailWaiters]) w(mail)
        callback()
      })
    },
  })
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve))
  const smtpPort = (smtp.server.address() as AddressInfo).port
  ;[hooks, global, oauth] = await Promise.all([receiver(), receiver(), startOAuthServer()])
  server = await startTestServer({
    ...oauth.env,
    ADMIN_EMAILS: ADMIN.email,
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    MAIL_FROM: 'ShareSync <noreply@sharesync.test>',
    // The receivers run on loopback: the test opts in to private targets (the default refuses them).
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_URL: global.url,
    WEBHOOK_SECRET: 'the-operators-global-webhook-secret',
    NOTIFY_RETRY_BASE: '200ms',
    NOTIFY_POLL_INTERVAL: '200ms',
    WEBHOOK_TIMEOUT: '2s',
  })
  owner = await signIn(OWNER)
  other = await signIn(OTHER)
  admin = await signIn(ADMIN)
  const res = await send(owner, 'PUT', '/api/me/notifications', { email: true, webhookUrl: hooks.url })
  expect(res.status).toBe(200)
  const channels = (await res.json()) as NotificationChannels
  expect(channels).toMatchObject({ email: true, emailAddress: OWNER.email, emailAvailable: true, webhookUrl: hooks.url })
  secret = channels.webhookSecret!
  expect(secret.length).toBeGreaterThanOrEqual(32)
})

afterAll(async () => {
  await server?.close()
  await Promise.all([
    hooks?.close(),
    global?.close(),
    oauth?.stop(),
    new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve())),
  ])
})

describe('notifications', () => {
  it('a download of a share that asked sends an e-mail (real SMTP on loopback) and a signed webhook that verifies', async () => {
    const share = await upload(owner, 'quarterly report.pdf')
    expect((await send(owner, 'PUT', `/api/me/shares/${share.id}/notify`, { downloads: 'every' })).status).toBe(200)
    await downloadOnce(share.id)

    const mail = await nextMail((m) => m.raw.includes(share.id))
    expect(mail.to).toEqual([OWNER.email])
    expect(mail.raw).toMatch(/Subject: .*downloaded/)
    expect(mail.raw).toContain(`/s/${share.id}`)

    const hook = await hooks.next((r) => r.payload.share.id === share.id && r.payload.event === 'share.downloaded')
    expect(hook.headers['content-type']).toBe('application/json')
    expect(hook.headers[WEBHOOK_HEADERS.event]).toBe('share.downloaded')
    expect(hook.headers[WEBHOOK_HEADERS.delivery]).toBe(hook.payload.id)
    expect(verify(hook, secret)).toBe(true)
    expect(verify(hook, 'some other secret')).toBe(false)
    expect(hook.payload).toMatchObject({
      event: 'share.downloaded',
      share: { id: share.id, name: 'quarterly report.pdf', source: 'upload', downloads: 1 },
    })
    // The operator's global webhook gets it too, signed with its own secret.
    const op = await global.next((r) => r.payload.share.id === share.id && r.payload.event === 'share.downloaded')
    expect(verify(op, 'the-operators-global-webhook-secret')).toBe(true)
  })

  it('"first" reports only the first download; "last" only the last allowed one (share.exhausted)', async () => {
    const first = await upload(owner, 'first.txt')
    await send(owner, 'PUT', `/api/me/shares/${first.id}/notify`, { downloads: 'first' })
    const last = await upload(owner, 'last.txt', '?maxDownloads=2')
    await send(owner, 'PUT', `/api/me/shares/${last.id}/notify`, { downloads: 'last' })
    await downloadOnce(first.id)
    await downloadOnce(first.id)
    await downloadOnce(last.id)
    await downloadOnce(last.id)
    const exhausted = await hooks.next((r) => r.payload.share.id === last.id && r.payload.event === 'share.exhausted')
    expect(exhausted.payload.share).toMatchObject({ downloads: 2, maxDownloads: 2 })
    await hooks.next((r) => r.payload.share.id === first.id)
    // Deliveries are sent in the order they were queued: by now every earlier one has arrived.
    const marker = await upload(owner, 'marker.txt')
    await send(owner, 'PUT', `/api/me/shares/${marker.id}/notify`, { downloads: 'every' })
    await downloadOnce(marker.id)
    await hooks.next((r) => r.payload.share.id === marker.id)
    expect(hooks.got.filter((r) => r.payload.share.id === first.id).map((r) => r.payload.event)).toEqual(['share.downloaded'])
    expect(hooks.got.filter((r) => r.payload.share.id === last.id).map((r) => r.payload.event)).toEqual(['share.exhausted'])
    expect(mails.filter((m) => m.raw.includes(last.id)).length).toBe(1)
  })

  it('a receiver that answers 500 twice gets the event on the third try (same delivery id), logged for the admin', async () => {
    const share = await upload(owner, 'retry.bin')
    await send(owner, 'PUT', `/api/me/shares/${share.id}/notify`, { downloads: 'every' })
    hooks.plan.push(500, 500)
    await downloadOnce(share.id)
    const third = await hooks.next((r) => r.payload.share.id === share.id, 3)
    const tries = hooks.got.filter((r) => r.payload.share.id === share.id)
    expect(tries.length).toBe(3)
    expect(new Set(tries.map((r) => r.headers[WEBHOOK_HEADERS.delivery])).size).toBe(1)
    expect(verify(third, secret)).toBe(true)
    await expect.poll(async () => (await deliveries()).find((d) => d.id === third.payload.id)?.status).toBe('delivered')
    const logged = (await deliveries()).find((d) => d.id === third.payload.id)!
    expect(logged).toMatchObject({ channel: 'webhook', event: 'share.downloaded', attempts: 3, lastStatus: 200, shareId: share.id })
    // The log shows the receiver's host, never its path or query.
    expect(logged.target).toBe(new URL(hooks.url).host)
  })

  it('nothing is sent for shares that did not ask', async () => {
    const quiet = await upload(owner, 'quiet.txt', '?maxDownloads=1')
    await downloadOnce(quiet.id)
    await send(owner, 'DELETE', `/api/me/shares/${quiet.id}`)
    const loud = await upload(owner, 'loud.txt')
    await send(owner, 'PUT', `/api/me/shares/${loud.id}/notify`, { downloads: 'every' })
    await downloadOnce(loud.id)
    await hooks.next((r) => r.payload.share.id === loud.id)
    await global.next((r) => r.payload.share.id === loud.id)
    await nextMail((m) => m.raw.includes(loud.id))
    expect(hooks.got.some((r) => r.payload.share.id === quiet.id)).toBe(false)
    expect(global.got.some((r) => r.payload.share.id === quiet.id)).toBe(false)
    expect(mails.some((m) => m.raw.includes(quiet.id))).toBe(false)
    expect((await deliveries()).some((d) => d.shareId === quiet.id)).toBe(false)
  })

  it('a share that expires unused reports share.expired; created and deleted are reported to webhooks', async () => {
    const share = await upload(owner, 'ephemeral.txt', '?expiresIn=1')
    await send(owner, 'PUT', `/api/me/shares/${share.id}/notify`, { downloads: 'off', expired: true })
    const expired = await hooks.next((r) => r.payload.share.id === share.id && r.payload.event === 'share.expired')
    expect(expired.payload.share.downloads).toBe(0)
    await nextMail((m) => m.raw.includes(share.id) && /expired/.test(m.raw))

    const kept = await upload(owner, 'kept.txt')
    await send(owner, 'PUT', `/api/me/shares/${kept.id}/notify`, { downloads: 'every' })
    expect((await send(owner, 'DELETE', `/api/me/shares/${kept.id}`)).status).toBe(204)
    await hooks.next((r) => r.payload.share.id === kept.id && r.payload.event === 'share.deleted')
  })
})

describe('notification settings under attack', () => {
  it('webhook URLs: huge, not http(s), with credentials or malformed are refused with 400 and nothing is saved', async () => {
    for (const webhookUrl of [
      `https://example.com/${'a'.repeat(3000)}`,
      'file:///etc/passwd',
      'gopher://example.com/',
      'http://user:pass@example.com/hook',
      'not a url',
      'javascript:alert(1)',
    ]) {
      const res = await send(other, 'PUT', '/api/me/notifications', { email: false, webhookUrl })
      expect([webhookUrl.slice(0, 30), res.status]).toEqual([webhookUrl.slice(0, 30), 400])
    }
    expect(await (await browserFetch(other, `${server.url}/api/me/notifications`)).json()).toMatchObject({
      webhookUrl: null,
      webhookSecret: null,
    })
    expect((await send(other, 'PUT', '/api/me/notifications', { email: 'yes', webhookUrl: null })).status).toBe(400)
    expect((await send(other, 'PUT', '/api/me/notifications', { email: true, webhookUrl: null, extra: 1 })).status).toBe(400)
  })

  it("another user's share: its notify settings answer 404 and cannot be changed; bad settings answer 400", async () => {
    const share = await upload(owner, 'private.txt')
    expect((await send(other, 'PUT', `/api/me/shares/${share.id}/notify`, { downloads: 'every' })).status).toBe(404)
    expect((await browserFetch(other, `${server.url}/api/me/shares/${share.id}/notify`)).status).toBe(404)
    expect((await send(owner, 'PUT', `/api/me/shares/${share.id}/notify`, { downloads: 'sometimes' })).status).toBe(400)
    expect((await send(owner, 'PUT', `/api/me/shares/${share.id}/notify`, { downloads: 'last' })).status).toBe(400)
    expect((await send(owner, 'PUT', `/api/me/shares/not-an-id/notify`, { downloads: 'every' })).status).toBe(404)
    expect(await (await browserFetch(owner, `${server.url}/api/me/shares/${share.id}/notify`)).json()).toEqual({
      downloads: 'off',
      expired: false,
    })
    expect((await fetch(`${server.url}/api/me/notifications`)).status).toBe(401)
    expect((await browserFetch(other, `${server.url}/api/admin/notifications`)).status).toBe(403)
    expect((await browserFetch(admin, `${server.url}/api/admin/notifications?status=bogus`)).status).toBe(400)
  })

  it('rotating the secret signs the next deliveries with the new one', async () => {
    const res = await send(owner, 'PUT', '/api/me/notifications', { email: true, webhookUrl: hooks.url, rotateSecret: true })
    const rotated = ((await res.json()) as NotificationChannels).webhookSecret!
    expect(rotated).not.toBe(secret)
    const share = await upload(owner, 'rotated.txt')
    await send(owner, 'PUT', `/api/me/shares/${share.id}/notify`, { downloads: 'every' })
    await downloadOnce(share.id)
    const hook = await hooks.next((r) => r.payload.share.id === share.id)
    expect([verify(hook, rotated), verify(hook, secret)]).toEqual([true, false])
    secret = rotated
  })

  it('without LIBRARY_DIR the library answers 404 library_disabled', async () => {
    const res = await browserFetch(admin, `${server.url}/api/library?path=x`)
    expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([404, 'library_disabled'])
    expect((await (await browserFetch(admin, `${server.url}/api/library/access`)).json()) as LibraryAccess).toEqual({
      enabled: false,
      allowed: false,
    })
  })
})
