import { createServer, type RequestListener, type Server } from 'node:http'
import type { Socket } from 'node:net'
import proxyAddr from 'proxy-addr'
import { ERRORS } from '@sharesync/protocol'
import type { Config } from '../config'
import { addressKey } from './client-address'

/**
 * The HTTP server with the limits a public instance needs: the request line and headers must
 * arrive within `headersTimeoutMs` (Node also closes connections that send nothing at all), idle
 * keep-alive connections close after `keepAliveTimeoutMs`, and one client address holds at most
 * `maxConnectionsPerAddress` connections at a time. Request bodies are timed per request
 * (timeouts.ts): Node's total request timeout stays off, or a slow 2 GB upload would be cut.
 */
export function createLimitedServer(app: RequestListener, config: Pick<Config, 'http' | 'trustProxy' | 'rateLimits'>): Server {
  const { http } = config
  const server = createServer(
    {
      headersTimeout: http.headersTimeoutMs,
      requestTimeout: 0,
      keepAliveTimeout: http.keepAliveTimeoutMs,
      // How often Node looks for connections past the headers timeout.
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(http.headersTimeoutMs / 4))),
    },
    app,
  )
  if (http.maxConnectionsPerAddress > 0) capConnectionsPerAddress(server, http.maxConnectionsPerAddress, config)
  return server
}

const TOO_MANY = JSON.stringify({ error: { code: 'too_many_connections', message: 'Too many connections from your address.' } })

/**
 * Counts open connections per client address (IPv6 by network, as rate limits count) and answers
 * the one over the cap with 429 before reading anything from it. A trusted proxy's address is not
 * counted: every client behind it arrives from there, and the proxy is where to cap them.
 */
function capConnectionsPerAddress(server: Server, max: number, config: Pick<Config, 'trustProxy' | 'rateLimits'>) {
  const open = new Map<string, number>()
  const trusted = trustedPeer(config.trustProxy)
  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress
    if (!ip || trusted(ip)) return
    const key = addressKey(ip, config.rateLimits.ipv6Prefix)
    const count = (open.get(key) ?? 0) + 1
    if (count > max) {
      const status = ERRORS.too_many_connections
      socket.end(`HTTP/1.1 ${status} Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(TOO_MANY)}\r\nRetry-After: 5\r\nConnection: close\r\n\r\n${TOO_MANY}`)
      socket.destroySoon()
      return
    }
    open.set(key, count)
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1
      if (left > 0) open.set(key, left)
      else open.delete(key)
    })
  })
}

function trustedPeer(trustProxy: Config['trustProxy']): (ip: string) => boolean {
  if (trustProxy === false) return () => false
  if (Array.isArray(trustProxy)) {
    const trust = proxyAddr.compile(trustProxy)
    return (ip) => trust(ip, 0)
  }
  // `true` or a hop count: whoever connects is a proxy.
  return () => true
}
