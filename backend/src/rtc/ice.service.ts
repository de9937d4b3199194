import { createHmac, randomBytes } from 'node:crypto'
import type { IceServersResponse } from '@sharesync/protocol'
import type { Config } from '../config'

/**
 * STUN/TURN servers for WebRTC. TURN credentials follow the TURN REST scheme (coturn's
 * `use-auth-secret`): username `${expiry}:${random}`, credential base64(HMAC-SHA1(secret, username)).
 * They expire on their own, so the shared secret never reaches a browser.
 */
export function iceServers(rtc: Pick<Config['rtc'], 'stunUrls' | 'turnUrls' | 'turnSecret' | 'turnTtl'>, now = Date.now()): IceServersResponse {
  const servers: IceServersResponse['iceServers'] = []
  if (rtc.stunUrls.length > 0) servers.push({ urls: [...rtc.stunUrls] })
  if (rtc.turnUrls.length > 0 && rtc.turnSecret) {
    const expiry = Math.floor(now / 1000) + rtc.turnTtl
    const username = `${expiry}:${randomBytes(9).toString('base64url')}`
    const credential = createHmac('sha1', rtc.turnSecret).update(username).digest('base64')
    servers.push({ urls: [...rtc.turnUrls], username, credential })
    return { iceServers: servers, ttl: rtc.turnTtl }
  }
  return { iceServers: servers, ttl: 0 }
}
