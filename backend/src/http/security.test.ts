import type { AddressInfo } from 'node:net'
import express from 'express'
import helmet from 'helmet'
import { expect, it } from 'vitest'
import { securityHeaders } from './security'

async function headersOf(app: express.Express): Promise<Record<string, string>> {
  const server = app.listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/page`)
    const out: Record<string, string> = {}
    res.headers.forEach((v, k) => (out[k] = v))
    for (const volatile of ['date', 'connection', 'keep-alive', 'content-length', 'content-type', 'etag', 'x-powered-by']) delete out[volatile]
    return out
  } finally {
    server.close()
  }
}

it('every answer carries the CSP and security headers, the same ones helmet itself sets per request', async () => {
  const ours = express()
  ours.use(securityHeaders())
  ours.get('/page', (_req, res) => res.send('<!doctype html>'))
  const headers = await headersOf(ours)
  expect(headers['content-security-policy']).toContain("default-src 'self'")
  expect(headers['content-security-policy']).toContain("script-src 'self' 'wasm-unsafe-eval'")
  expect(headers['content-security-policy']).toContain("frame-ancestors 'self'")
  expect(headers['content-security-policy']).not.toContain('upgrade-insecure-requests')
  expect(headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'SAMEORIGIN', 'referrer-policy': 'no-referrer', 'cross-origin-resource-policy': 'same-site' })
  // a plain-http LAN origin must keep working: no HSTS
  expect(headers['strict-transport-security']).toBeUndefined()

  // helmet run on each request, with the same directives, answers exactly the same headers
  const csp = headers['content-security-policy']!
  const reference = express()
  reference.use(
    helmet({
      contentSecurityPolicy: false,
      strictTransportSecurity: false,
      crossOriginOpenerPolicy: false,
      crossOriginEmbedderPolicy: false,
      crossOriginResourcePolicy: { policy: 'same-site' },
    }),
  )
  reference.use((_req, res, next) => {
    res.setHeader('Content-Security-Policy', csp)
    next()
  })
  reference.get('/page', (_req, res) => res.send('<!doctype html>'))
  expect(headers).toEqual(await headersOf(reference))
})

it('a handler can still replace a header for its own answer (a stored file gets its sandbox CSP)', async () => {
  const app = express()
  app.use(securityHeaders())
  app.get('/page', (_req, res) => res.setHeader('Content-Security-Policy', 'sandbox').send('x'))
  expect((await headersOf(app))['content-security-policy']).toBe('sandbox')
})
