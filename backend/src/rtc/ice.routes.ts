import { Router } from 'express'
import type { Deps } from '../deps'
import { iceServers } from './ice.service'

/** GET /api/rtc/ice-servers: without STUN/TURN configured the list is empty, which works on a LAN. */
export function rtcRouter({ config }: Pick<Deps, 'config'>): Router {
  const router = Router()
  router.get('/api/rtc/ice-servers', (_req, res) => {
    // Fresh credentials on every call: never cached by a browser or proxy.
    res.setHeader('Cache-Control', 'no-store')
    res.json(iceServers(config.rtc))
  })
  return router
}
