import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import express, { type RequestHandler } from 'express'
import type { Deps } from './deps'
import { errorMiddleware, apiNotFound } from './http/error-middleware'
import { untrustedForwardingWarning } from './http/forwarding'
import { originCheck, securityHeaders } from './http/security'
import { requestTimeouts } from './http/timeouts'
import { requestLog } from './http/request-log'
import { gatedRouter } from './http/router-gate'
import { viewerOf } from './http/viewer'
import type { HealthChecks } from './ops/health'
import { healthRouter } from './ops/health.routes'

const FRONTEND_DIST = fileURLToPath(new URL('../../frontend/dist/', import.meta.url))

export interface AppExtensions {
  /** Mounted before the API routes (sessions, passport): they set req.viewer.user. */
  before?: RequestHandler[]
  /** Feature routers, mounted at the app root in order. */
  routers?: express.Router[]
  /** the readiness checks (shared with the shutdown, which marks the instance draining) */
  health?: HealthChecks
}

/** The express app without listen(): tests and serve.ts build it the same way. */
export function createApp(deps: Deps, ext: AppExtensions = {}): express.Express {
  const { config, logger } = deps
  const app = express()
  app.disable('x-powered-by')
  app.set('trust proxy', config.trustProxy)
  app.set('etag', false)

  app.use(requestLog(logger))
  app.use(requestTimeouts(config.http))
  app.use(securityHeaders())
  app.use((req, _res, next) => {
    req.viewer = viewerOf(req, null, config.rateLimits.ipv6Prefix)
    next()
  })
  app.use(untrustedForwardingWarning(config.trustProxy, logger))
  for (const mw of ext.before ?? []) app.use(mw)
  app.use('/api', originCheck(config.publicUrl))
  // Upload and blob routes stream their bodies: the JSON parser must never consume them.
  const json = express.json({ limit: '256kb', type: ['application/json', 'application/*+json'] })
  app.use('/api', (req, res, next) => (/^\/(upload|blobs)\//.test(req.path) ? next() : json(req, res, next)))

  app.use(gatedRouter(healthRouter(deps, ext.health)))
  for (const router of ext.routers ?? []) app.use(gatedRouter(router))
  app.use('/api', apiNotFound)

  if (existsSync(FRONTEND_DIST)) {
    app.use(express.static(FRONTEND_DIST, { index: false, maxAge: '1h', setHeaders: (res, path) => {
      if (path.includes('/assets/')) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable')
      if (path.endsWith('sw.js')) res.setHeader('Cache-Control', 'no-cache')
    } }))
    app.get(/^\/(?!api\/).*/, (_req, res) => {
      res.setHeader('Cache-Control', 'no-cache')
      res.sendFile('index.html', { root: FRONTEND_DIST })
    })
  } else {
    app.get('/', (_req, res) => {
      res.type('text/plain').send('ShareSync API is running. Build the web app with `pnpm build`.')
    })
  }

  app.use(errorMiddleware(logger))
  return app
}
