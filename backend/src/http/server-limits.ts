import { STATUS_CODES, createServer, maxHeaderSize, type RequestListener, type ServerResponse, type Server } from 'node:http'
import type { Socket } from 'node:net'
import { ERRORS, type ErrorCode } from '@sharesync/protocol'
import type { Config } from '../config'
import { addressKey } from './client-address'
import { trustedPeer } from './forwarding'

/**
 * The HTTP server with the limits a public instance needs: the request line and headers must
 * arrive within `headersTimeoutMs` (Node also closes connections that send nothing at all), idle
 * keep-alive connections close after `keepAliveTimeoutMs`, and one client address holds at most
 * `maxConnectionsPerAddress` connections at a time. Request bodies are timed per request
 * (timeouts.ts): Node's total request timeout stays off, or a slow 2 GB upload would be cut.
 */
export function createLimitedServer(app: RequestListener, config: Pick<Config, 'http' | 'trustProxy' | 'rateLimits'>): Server {
  const { http } = config
  const overCap = http.maxConnectionsPerAddress > 0 ? new WeakMap() as OverCap : null
  const server = createServer(
    {
      headersTimeout: http.headersTimeoutMs,
      requestTimeout: 0,
      keepAliveTimeout: http.keepAliveTimeoutMs,
      // How often Node looks for connections past the headers timeout.
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(http.headersTimeoutMs / 4))),
    },
    overCap ? healthOnlyWhenOverCap(app, overCap) : app,
  )
  if (overCap) capConnectionsPerAddress(server, overCap, http.maxConnectionsPerAddress, Math.min(OVER_CAP_GRACE_MS, http.headersTimeoutMs), config)
  answerClientErrors(server)
  return server
}

/**
 * What Node's parser refuses before any request exists, as the API's JSON errors: Node alone would
 * answer a bare `431`, `400` or `408` with no body, which no client of the API can read.
 */
const CLIENT_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  HPE_HEADER_OVERFLOW: { code: 'headers_too_large', message: `The request line and headers are larger than the server accepts (${Math.round(maxHeaderSize / 1024)} KB in all).` },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { code: 'too_large', message: 'The chunk extensions of the request body are too large.' },
  ERR_HTTP_REQUEST_TIMEOUT: { code: 'request_timeout', message: 'The request line and headers took too long to arrive.' },
}
const MALFORMED = { code: 'bad_request', message: 'The request is not valid HTTP.' } as const satisfies { code: ErrorCode; message: string }

/**
 * Answers a request Node's parser refused (too large, malformed, headers too slow) with the one
 * error shape and closes the connection. Nothing is written to a socket that can no longer take
 * it, nor to one whose current response has already begun: the client would read a broken answer.
 */
function answerClientErrors(server: Server) {
  const answering = new WeakMap<Socket, ServerResponse>()
  server.on('request', (req, res) => {
    answering.set(req.socket, res)
    res.once('close', () => {
      if (answering.get(req.socket) === res) answering.delete(req.socket)
    })
  })
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable || answering.get(socket)?.headersSent) {
      socket.destroy()
      return
    }
    const { code, message } = (err.code && CLIENT_ERRORS[err.code]) || MALFORMED
    const status = ERRORS[code]
    const body = JSON.stringify({ error: { code, message } })
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
    socket.destroySoon()
  })
}

/** Probes a balancer or an orchestrator sends: answered even on a connection over the cap. */
const HEALTH_PATHS = new Set(['/api/health', '/api/health/ready'])
/** How long a connection over the cap has to send its request line and headers. */
const OVER_CAP_GRACE_MS = 2000

/** Connections over the cap, each with the timer that closes it if its request does not come. */
type OverCap = WeakMap<Socket, NodeJS.Timeout>

const TOO_MANY = JSON.stringify({ error: { code: 'too_many_connections', message: 'Too many connections from your address.' } })
const TOO_MANY_HEADERS = { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(TOO_MANY)), 'Retry-After': '5', Connection: 'close' }

/**
 * A connection over the cap carries one request and closes: a health probe is answered (a
 * balancer that probes readiness while the address is busy must not take the instance out), any
 * other request gets 429 too_many_connections without reaching the app.
 */
function healthOnlyWhenOverCap(app: RequestListener, overCap: OverCap): RequestListener {
  return (req, res) => {
    const silent = overCap.get(req.socket)
    if (silent === undefined) return app(req, res)
    clearTimeout(silent)
    res.shouldKeepAlive = false
    if ((req.method === 'GET' || req.method === 'HEAD') && HEALTH_PATHS.has((req.url ?? '').split('?')[0]!)) return app(req, res)
    req.resume()
    res.writeHead(ERRORS.too_many_connections, TOO_MANY_HEADERS).end(TOO_MANY)
  }
}

/**
 * Counts open connections per client address (IPv6 by network, as rate limits count). A
 * connection over the cap is not counted and may send one request within `graceMs` (see
 * healthOnlyWhenOverCap); a WebSocket upgrade on it is refused. A trusted proxy's address is not
 * counted: every client behind it arrives from there, so capping it would cap the proxy itself
 * (the proxy is where to cap its clients' connections).
 */
function capConnectionsPerAddress(server: Server, overCap: OverCap, max: number, graceMs: number, config: Pick<Config, 'trustProxy' | 'rateLimits'>) {
  const open = new Map<string, number>()
  const trusted = trustedPeer(config.trustProxy)
  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress
    if (!ip || trusted(ip)) return
    const key = addressKey(ip, config.rateLimits.ipv6Prefix)
    const count = (open.get(key) ?? 0) + 1
    if (count > max) {
      const silent = setTimeout(() => socket.destroy(), graceMs)
      overCap.set(socket, silent)
      socket.once('close', () => clearTimeout(silent))
      return
    }
    open.set(key, count)
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1
      if (left > 0) open.set(key, left)
      else open.delete(key)
    })
  })
  // Before Socket.IO's own listener: the socket is gone by the time it looks (it then lets go).
  server.prependListener('upgrade', (_req, socket: Socket) => {
    if (!overCap.has(socket)) return
    socket.end(`HTTP/1.1 ${ERRORS.too_many_connections} Too Many Requests\r\n${Object.entries(TOO_MANY_HEADERS).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${TOO_MANY}`)
    socket.destroySoon()
  })
}
