/**
 * Guessing a share's password, as an attacker behind a proxy would (TRUST_PROXY=loopback, the
 * address comes from X-Forwarded-For): rotating IPv6 addresses, many addresses at once, and the
 * KDF upgrade of hashes made before scrypt's parameters were raised.
 */
import { randomBytes, scryptSync } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './support/harness'

const PASSWORD = 'correct horse'

async function passwordShare(server: TestServer, password = PASSWORD): Promise<string> {
  const res = await server.fetch(`/api/upload/secret.txt?password=${encodeURIComponent(password)}`, { method: 'PUT', body: 'the secret' })
  expect(res.status).toBe(201)
  return ((await res.json()) as { id: string }).id
}

/** One password attempt from `from` (as the proxy says): the status and error code. */
async function guess(server: TestServer, id: string, password: string, from: string) {
  const res = await server.fetch(`/api/shares/${id}`, { headers: { 'x-share-password': password, 'x-forwarded-for': from } })
  const body = (await res.json()) as { files?: unknown[]; error?: { code: string } }
  return { status: res.status, code: body.error?.code, unlocked: Array.isArray(body.files), retryAfter: res.headers.get('retry-after') }
}

/** The hash format of the first release: scrypt N=2^15. */
function oldHash(password: string): string {
  const salt = randomBytes(16)
  const key = scryptSync(password.normalize('NFC'), salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 2 ** 20 })
  return `scrypt$32768$8$1$${salt.toString('base64url')}$${key.toString('base64url')}`
}

describe('share passwords against an attacker with many addresses', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ TRUST_PROXY: 'loopback', PASSWORD_ATTEMPTS: '5/15m', SHARE_PASSWORD_ATTEMPTS: '8/1h' })
  })
  afterAll(() => server?.close())

  it('guesses from 2001:db8::1 and 2001:db8::2 share one counter: rotating within a /64 earns no extra guesses', async () => {
    const id = await passwordShare(server)
    const seen = []
    for (const from of ['2001:db8::1', '2001:db8::2', '2001:db8::3', '2001:db8::ffff:1', '2001:db8::2']) seen.push((await guess(server, id, 'wrong', from)).status)
    expect(seen).toEqual([401, 401, 401, 401, 401])
    const sixth = await guess(server, id, 'wrong', '2001:db8::9')
    expect(sixth).toMatchObject({ status: 429, code: 'rate_limited' })
    expect(Number(sixth.retryAfter)).toBeGreaterThan(0)
    // Even the right password waits: the network has used its guesses.
    expect((await guess(server, id, PASSWORD, '2001:db8::a')).status).toBe(429)
    // The next /64 is someone else.
    expect(await guess(server, id, PASSWORD, '2001:db8:0:1::1')).toMatchObject({ status: 200, unlocked: true })
  })

  it('IPv4 clients count one address each, also when the proxy hands them over IPv4-mapped', async () => {
    const id = await passwordShare(server)
    for (let i = 0; i < 5; i++) expect((await guess(server, id, 'wrong', i % 2 ? '::ffff:198.51.100.7' : '198.51.100.7')).status).toBe(401)
    expect((await guess(server, id, 'wrong', '198.51.100.7')).status).toBe(429)
    expect((await guess(server, id, 'wrong', '198.51.100.8')).status).toBe(401)
  })

  it('the per-share cap holds across addresses: a botnet of fresh addresses is stopped, even with the right password', async () => {
    const id = await passwordShare(server)
    // 8 wrong guesses, 2 from each of 4 networks: no network comes near its own limit of 5.
    for (let n = 0; n < 4; n++) for (let i = 0; i < 2; i++) expect((await guess(server, id, `wrong${n}${i}`, `2001:db8:${n + 10}::${i + 1}`)).status).toBe(401)
    const fresh = await guess(server, id, PASSWORD, '2001:db8:99::1')
    expect(fresh).toMatchObject({ status: 429, code: 'rate_limited', unlocked: false })
    expect((await guess(server, id, PASSWORD, '203.0.113.50')).status).toBe(429)
  })

  it('right entries do not use up the per-share budget (the owner sharing a link with many people is not locked out)', async () => {
    const id = await passwordShare(server)
    for (let i = 0; i < 10; i++) expect((await guess(server, id, PASSWORD, `2001:db8:${i + 100}::1`)).status).toBe(200)
  })

  it('a password longer than any share can have is a wrong guess (401), not an error', async () => {
    const id = await passwordShare(server)
    expect(await guess(server, id, 'x'.repeat(8000), '198.51.100.20')).toMatchObject({ status: 401, code: 'password_invalid' })
  })

  it('a share made before the KDF upgrade still opens with its password, and its hash is upgraded to scrypt N=2^17', async () => {
    const id = await passwordShare(server)
    const legacy = oldHash(PASSWORD)
    await server.deps.db.query('UPDATE shares SET password_hash = $2 WHERE id = $1', [id, legacy])
    const hashOf = async () => (await server.deps.db.query<{ password_hash: string }>('SELECT password_hash FROM shares WHERE id = $1', [id]))[0]!.password_hash

    // A wrong password proves nothing: the old hash stays.
    expect((await guess(server, id, 'wrong', '198.51.100.30')).status).toBe(401)
    expect(await hashOf()).toBe(legacy)

    expect(await guess(server, id, PASSWORD, '198.51.100.31')).toMatchObject({ status: 200, unlocked: true })
    const upgraded = await hashOf()
    expect(upgraded).not.toBe(legacy)
    expect(upgraded).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/)
    // The new hash opens with the same password and still refuses others.
    expect((await guess(server, id, PASSWORD, '198.51.100.32')).status).toBe(200)
    expect((await guess(server, id, 'wrong', '198.51.100.33')).status).toBe(401)
    expect(await hashOf()).toBe(upgraded)
  })

  it('new shares are hashed at N=2^17 from the start', async () => {
    const id = await passwordShare(server)
    const [row] = await server.deps.db.query<{ password_hash: string }>('SELECT password_hash FROM shares WHERE id = $1', [id])
    expect(row!.password_hash.startsWith('scrypt$131072$8$1$')).toBe(true)
  })
})
