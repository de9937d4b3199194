/**
 * The admin's share policy "links made without signing in need a password" (ANON_PASSWORD_REQUIRED,
 * or the admin setting): enforced on every way to make a link — browser uploads, curl uploads, text
 * shares — with a clear JSON error and nothing stored; a link with a password passes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiOf, uploadShare, type Api } from './support/browser-upload'
import { startTestServer, type TestServer } from './support/harness'

let server: TestServer
let api: Api
beforeAll(async () => {
  server = await startTestServer({ ANON_PASSWORD_REQUIRED: 'true', UPLOAD_RATE_LIMIT: '1000/1h' })
  api = apiOf(server.url)
})
afterAll(() => server?.close())

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
