import { Router } from 'express'
import type { Deps } from '../deps'

/** GET /api/health: 200 when every dependency answers, 503 naming the ones that do not. */
export function healthRouter({ db, store, redis }: Deps): Router {
  const router = Router()
  router.get('/api/health', async (_req, res) => {
    const checks = await Promise.all([
      check('db', () => db.ping()),
      check('storage', () => store.ping()),
      redis ? check('redis', async () => void (await redis.ping())) : Promise.resolve(null),
    ])
    const failing = checks.filter((c): c is string => c !== null)
    const body = { status: failing.length ? 'unavailable' : 'ok', db: db.kind, storage: store.kind, redis: redis !== null, ...(failing.length ? { failing } : {}) }
    res.setHeader('Cache-Control', 'no-store')
    if (failing.length) {
      res.status(503).json({ ...body, error: { code: `${failing[0]}_unavailable`, message: `Unavailable: ${failing.join(', ')}` } })
    } else {
      res.json(body)
    }
  })
  return router
}

async function check(name: string, probe: () => Promise<void>): Promise<string | null> {
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 2000).unref())
  try {
    const result = await Promise.race([probe().then(() => 'ok' as const), timeout])
    return result === 'ok' ? null : name
  } catch {
    return name
  }
}
