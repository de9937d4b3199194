// The baseline for the presign benchmark: the same express the app uses, one trivial JSON route,
// in its own node process like the app. Prints "listening <port>" once ready.
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'

const require = createRequire(new URL('../../backend/package.json', import.meta.url))
const express = require('express')

const app = express()
app.disable('x-powered-by')
app.get('/bare', (_req, res) => res.json({ ok: true }))

// The floor of a download issuance: what any Express app pays for a POST with a JSON body and an
// answer the size of the app's (a signed URL, its expiry) with the app's security headers (helmet's
// output, copied once as the app does), a request id and no-store; no limits, no lookups, no signing.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';img-src 'self' data: blob: https:;object-src 'none';script-src 'self' 'wasm-unsafe-eval';script-src-attr 'none';style-src 'self' https: 'unsafe-inline';connect-src 'self' ws: wss: http: https:;worker-src 'self' blob:",
  'cross-origin-resource-policy': 'same-site',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
}
const SIGNED = `http://127.0.0.1:1/api/blobs/o/${'k'.repeat(60)}?exp=1764633600&fn=small.txt&ct=text%2Fplain&sig=${'s'.repeat(43)}`
app.post('/bare-post', express.json({ limit: '256kb' }), (req, res) => {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value)
  res.setHeader('X-Request-Id', randomUUID())
  res.setHeader('Cache-Control', 'no-store')
  res.json({ url: SIGNED, expiresAt: new Date(Date.now() + 60_000).toISOString(), body: typeof req.body })
})
const server = app.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
