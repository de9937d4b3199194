import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import type { RequestHandler } from 'express'
import helmet from 'helmet'
import { AppError } from './app-error'

/**
 * Helmet's headers (the CSP and the rest) on every answer. They depend on nothing in the request, so
 * helmet runs once, on a response of its own, and each request gets the same headers copied: the
 * same bytes as helmet per request, without its eleven middlewares on every request.
 */
export function securityHeaders(): RequestHandler {
  const probe = new ServerResponse(new IncomingMessage(new Socket()))
  let failed: unknown
  helmetMiddleware()(probe.req, probe, (err?: unknown) => (failed = err))
  if (failed) throw failed
  const headers = probe.getHeaderNames().map((name) => [name, probe.getHeader(name)!] as const)
  return (_req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value)
    next()
  }
}

function helmetMiddleware() {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        // blob: for QR codes and received P2P files; data: for inline images; ws/wss for socket.io
        'img-src': ["'self'", 'data:', 'blob:', 'https:'],
        'connect-src': ["'self'", 'ws:', 'wss:', 'http:', 'https:'],
        'worker-src': ["'self'", 'blob:'],
        // hash-wasm (incremental SHA-256 of P2P files) compiles WebAssembly; this allows only that, not eval.
        'script-src': ["'self'", "'wasm-unsafe-eval'"],
        'upgrade-insecure-requests': null,
      },
    },
    // The app must work on a plain-http LAN origin: no HSTS, no forced upgrade.
    strictTransportSecurity: false,
    crossOriginOpenerPolicy: false,
    crossOriginEmbedderPolicy: false,
    crossOriginResourcePolicy: { policy: 'same-site' },
  })
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** The origin a browser would send for this app, from PUBLIC_URL or the Host header. */
export function expectedOrigins(publicUrl: string | undefined, host: string | undefined, protocol: string): string[] {
  const origins: string[] = []
  if (publicUrl) origins.push(new URL(publicUrl).origin)
  if (host) origins.push(`${protocol}://${host}`)
  return origins
}

/**
 * CSRF: a state-changing request that carries a browser Origin (or Sec-Fetch-Site) must come from
 * this app's own origin. Requests without either header (curl, scripts) carry no ambient cookie
 * risk from a browser and pass, as do requests authenticated by an API token (their cookies are
 * never read).
 */
export function originCheck(publicUrl: string | undefined): RequestHandler {
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method)) return next()
    // A validated API token: no cookie was read for this request, so there is nothing to forge.
    if (req.viewer?.token) return next()
    const site = req.get('sec-fetch-site')
    if (site === 'cross-site' || site === 'same-site') {
      return next(new AppError('csrf_rejected', 'Cross-site requests are not allowed.'))
    }
    const origin = req.get('origin')
    if (origin !== undefined) {
      const allowed = expectedOrigins(publicUrl, req.get('host'), req.protocol)
      if (origin === 'null' || !allowed.includes(origin)) {
        return next(new AppError('csrf_rejected', 'Cross-site requests are not allowed.'))
      }
    }
    next()
  }
}
