import { Router } from 'express'
import type { Deps } from '../deps'
import { iceServers } from './ice.service'

/**
 * GET /api/rtc/ice-servers: without STUN/TURN configured the list is empty, which works on a LAN.
 * TURN credentials are minted per call, live TURN_TTL (minutes) and are rate limited per client
 * address (TURN_CREDENTIAL_RATE_LIMIT): anyone may open a room page, but nobody may farm relays.
 */
export function rtcRouter({ config, limits }: Pick<Deps, 'config' | 'limits'>): Router {
  const router = Router()
  router.get('/api/rtc/ice-servers', async (req, res) => {
    if (config.rtc.turnUrls.length > 0) await limits.consume('turnCredentials', `ip:${req.viewer.address}`)
    // Fresh credentials on every call: never cached by a browser or proxy.
    res.setHeader('Cache-Control', 'no-store')
    res.json(iceServers(config.rtc))
  })
  return router
}
