import type { RequestHandler } from 'express'
import type { Logger } from 'pino'
import proxyAddr from 'proxy-addr'
import type { Config } from '../config'

/** Whether TRUST_PROXY trusts the directly connected peer `ip` as a proxy (as Express does for req.ip). */
export function trustedPeer(trustProxy: Config['trustProxy']): (ip: string) => boolean {
  if (trustProxy === false) return () => false
  if (Array.isArray(trustProxy)) {
    const trust = proxyAddr.compile(trustProxy)
    return (ip) => trust(ip, 0)
  }
  // `true` or a hop count: whoever connects is a proxy.
  return () => true
}

/**
 * Warns once per process when a request carries X-Forwarded-For from a peer TRUST_PROXY does not
 * trust. The header is then ignored (rightly, or anyone could pick their address), so if that peer
 * is the operator's own proxy every client behind it shares the proxy's address: one rate limit, one
 * quota, one connection cap for all. Once, not per request: a client forging the header on every
 * request cannot flood the log.
 */
export function untrustedForwardingWarning(trustProxy: Config['trustProxy'], logger: Pick<Logger, 'warn'>): RequestHandler {
  const trusted = trustedPeer(trustProxy)
  let warned = false
  return (req, _res, next) => {
    if (warned || req.headers['x-forwarded-for'] === undefined) return next()
    const peer = req.socket.remoteAddress
    if (peer && !trusted(peer)) {
      warned = true
      logger.warn(
        { peer, trustProxy: trustProxy === false ? 'off' : trustProxy },
        `X-Forwarded-For arrived from ${peer}, which TRUST_PROXY does not trust, so it was ignored: if ${peer} is your reverse proxy, ` +
          `every client behind it counts as that one address (rate limits, quotas). Add it to TRUST_PROXY (e.g. TRUST_PROXY=${peer}). Logged once.`,
      )
    }
    next()
  }
}
