import type { ErrorCode } from '@sharesync/protocol'
import { Router } from 'express'
import type { Deps } from '../deps'
import { HealthChecks, type Dependency } from './health'

const UNAVAILABLE: Record<Dependency, ErrorCode> = { db: 'database_unavailable', storage: 'storage_unavailable', redis: 'redis_unavailable' }

/**
 * GET /api/health: liveness. 200 while the process serves HTTP, whatever its dependencies do (an
 * orchestrator that restarts on a failed liveness check must not restart every instance because
 * the database is away). No I/O.
 *
 * GET /api/health/ready: readiness, for balancers. 200 when the database and storage answered
 * their last check (`degraded` names Redis while it is away: the instance serves without it);
 * 503 naming the failing ones, or while shutting down.
 */
export function healthRouter(deps: Pick<Deps, 'db' | 'store' | 'redis'>, health: HealthChecks = new HealthChecks(deps)): Router {
  const { db, store, redis } = deps
  const identity = { db: db.kind, storage: store.kind, redis: redis !== null }
  const router = Router()
  router.get('/api/health', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store')
    res.json({ status: 'ok', ...identity, ...(health.draining ? { draining: true } : {}) })
  })
  router.get('/api/health/ready', async (_req, res) => {
    const { ready, draining, failing, degraded } = await health.readiness()
    res.setHeader('Cache-Control', 'no-store')
    if (ready) {
      res.json(degraded.length ? { status: 'degraded', ...identity, degraded } : { status: 'ok', ...identity })
      return
    }
    const error: { code: ErrorCode; message: string } = draining
      ? { code: 'shutting_down', message: 'This instance is shutting down.' }
      : { code: UNAVAILABLE[failing[0]!], message: `Unavailable: ${failing.join(', ')}` }
    res.status(503).json({ status: draining ? 'draining' : 'unavailable', ...identity, failing, ...(degraded.length ? { degraded } : {}), error })
  })
  return router
}
