import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkWebhookUrl, isPublicAddress, postWebhook, webhookSignature } from './webhook-sender'

let hits: string[] = []
let target: Server
let targetUrl: string

beforeAll(async () => {
  target = createServer((req, res) => {
    hits.push(req.url ?? '')
    if (req.url === '/redirect') {
      res.writeHead(302, { location: `${targetUrl}/landed` })
      return res.end()
    }
    res.end('ok')
  })
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve))
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => target.close(() => resolve())))

const post = (url: string, allowPrivate: boolean) =>
  postWebhook(url, { secret: 's', body: '{}', event: 'share.created', deliveryId: 'd', timeoutMs: 2000, allowPrivate })

describe('webhook targets (SSRF)', () => {
  it.each([
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['255.255.255.255', false],
    ['::1', false],
    ['fe80::1', false],
    ['fc00::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['::', false],
    ['93.184.216.34', true],
    ['2606:4700:4700::1111', true],
    ['::ffff:93.184.216.34', true],
  ])('%s is public: %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected)
  })

  it('refuses loopback, private and local names by default, before any request is made', async () => {
    hits = []
    for (const url of [
      `${targetUrl}/hook`,
      'http://localhost:9/hook',
      'http://[::1]:9/',
      'http://169.254.169.254/latest/meta-data',
      'http://metadata.internal/',
      'http://intranet/',
    ]) {
      expect(() => checkWebhookUrl(url, false), url).toThrow()
      expect((await post(url, false)).ok).toBe(false)
    }
    expect(hits).toEqual([])
  })

  it('a public-looking name that resolves to loopback is refused at connection time (DNS is checked, not the name)', async () => {
    hits = []
    // localtest.me-style names are not needed: "localhost." with a trailing dot passes the name check but resolves to loopback.
    const result = await post(`http://localhost.:${new URL(targetUrl).port}/hook`, false)
    expect(result.ok).toBe(false)
    expect(hits).toEqual([])
  })

  it('with private targets allowed (tests, intranets) it posts; redirects are never followed', async () => {
    hits = []
    expect(await post(`${targetUrl}/hook`, true)).toMatchObject({ ok: true, status: 200 })
    const redirected = await post(`${targetUrl}/redirect`, true)
    expect(redirected).toMatchObject({ ok: false, status: 302 })
    expect(hits).toEqual(['/hook', '/redirect'])
  })

  it('refuses other schemes and credentials, whatever the setting', () => {
    for (const url of ['file:///etc/passwd', 'ftp://example.com/', 'http://a:b@example.com/', `https://example.com/${'x'.repeat(3000)}`]) {
      expect(() => checkWebhookUrl(url, true), url).toThrow()
    }
    expect(checkWebhookUrl('https://hooks.example.com/x?y=1', false).host).toBe('hooks.example.com')
  })

  it('signs `timestamp.body` with HMAC-SHA256 (vector from `openssl dgst -sha256 -hmac secret`)', () => {
    expect(webhookSignature('secret', 1700000000, '{"a":1}')).toBe('v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686')
  })
})
