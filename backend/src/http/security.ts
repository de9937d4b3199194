import type { RequestHandler } from 'express'
import helmet from 'helmet'
import { AppError } from './app-error'

export function securityHeaders(): RequestHandler {
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
