import { timingSafeEqual } from 'node:crypto'
import type { RequestHandler } from 'express'
import { Router } from 'express'
import ipaddr from 'ipaddr.js'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Deps } from '../deps'
import { AppError } from '../http/app-error'
import { routePattern } from '../http/route-pattern'

/** Local figures of this instance's Socket.IO server (Prometheus sums instances itself). */
export interface SocketFigures {
  sockets: number
  rooms: number
}

/**
 * Prometheus metrics of one server instance, in its own registry (several servers can run in one
 * process, as in the tests). Counters follow the app's events; gauges are read at scrape time.
 */
export class Metrics {
  readonly registry = new Registry()
  private socketFigures: () => SocketFigures = () => ({ sockets: 0, rooms: 0 })
  private readonly httpDuration: Histogram<'method' | 'route' | 'status'>

  constructor(private readonly deps: Pick<Deps, 'events' | 'config'>) {
    const registers = [this.registry]
    collectDefaultMetrics({ register: this.registry })
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    })
    const uploads = new Counter({ name: 'sharesync_uploads_total', help: 'Shares created (finalized uploads)', registers })
    const uploadBytes = new Counter({ name: 'sharesync_upload_bytes_total', help: 'Bytes of finalized uploads', registers })
    const downloads = new Counter({ name: 'sharesync_downloads_total', help: 'Counted downloads (presigned URLs issued for unlimited shares, leases used up for limited ones)', registers })
    const downloadBytes = new Counter({ name: 'sharesync_download_bytes_total', help: 'Bytes of counted downloads', registers })
    const rateLimited = new Counter({
      name: 'sharesync_rate_limited_total',
      help: 'Requests refused by a rate limit or quota',
      labelNames: ['limit'],
      registers,
    })
    const janitorRuns = new Counter({ name: 'sharesync_janitor_runs_total', help: 'Janitor passes', registers })
    const janitorDeleted = new Counter({ name: 'sharesync_janitor_deleted_shares_total', help: 'Shares the janitor deleted', registers })
    const p2pTransfers = new Counter({
      name: 'sharesync_p2p_transfers_total',
      help: 'P2P transfer reports',
      labelNames: ['status'],
      registers,
    })
    const p2pBytes = new Counter({ name: 'sharesync_p2p_bytes_total', help: 'Bytes of reported P2P transfers', registers })
    const figures = () => this.socketFigures()
    new Gauge({
      name: 'sharesync_sockets_connected',
      help: 'Socket.IO connections on this instance',
      registers,
      collect() {
        this.set(figures().sockets)
      },
    })
    new Gauge({
      name: 'sharesync_rooms_open',
      help: 'P2P rooms with a member on this instance',
      registers,
      collect() {
        this.set(figures().rooms)
      },
    })

    const { events } = deps
    events.on('shareCreated', ({ bytes }) => {
      uploads.inc()
      uploadBytes.inc(bytes)
    })
    events.on('shareDownloaded', ({ bytes }) => {
      downloads.inc()
      downloadBytes.inc(bytes)
    })
    events.on('rateLimited', ({ limit }) => rateLimited.inc({ limit }))
    events.on('janitorRun', ({ deleted }) => {
      janitorRuns.inc()
      janitorDeleted.inc(deleted)
    })
    events.on('transferFinished', ({ bytes, status }) => {
      p2pTransfers.inc({ status })
      p2pBytes.inc(bytes)
    })
    const relays = new Counter({ name: 'sharesync_relay_channels_total', help: 'Server relay channels closed, by reason', labelNames: ['reason'], registers })
    const relayBytes = new Counter({ name: 'sharesync_relay_bytes_total', help: 'Bytes carried through the server relay', registers })
    events.on('relayFinished', ({ bytes, opener, reason }) => {
      if (opener) relays.inc({ reason })
      relayBytes.inc(bytes)
    })
  }

  /** Where the socket gauges read from (the realtime server exists after the app is built). */
  watchSockets(read: () => SocketFigures): void {
    this.socketFigures = read
  }

  /**
   * Times every request; the route label is the matched Express route pattern (`/api/shares/:id`),
   * never the raw URL, so share ids do not become label values. Unmatched requests share one label.
   */
  readonly httpMiddleware: RequestHandler = (req, res, next) => {
    const end = this.httpDuration.startTimer()
    res.once('finish', () => {
      end({ method: req.method, route: routePattern(req), status: String(res.statusCode) })
    })
    next()
  }

  /**
   * `GET /metrics` in Prometheus text format: with METRICS_TOKEN set, only with
   * `Authorization: Bearer <token>`; without it, only from a loopback address.
   */
  router(): Router {
    const r = Router()
    const token = this.deps.config.metricsToken
    r.get('/metrics', async (req, res) => {
      // Without a token, only this host may scrape (req.ip: behind a trusted proxy, the real client).
      if (!token && !isLoopback(req.ip ?? '')) {
        throw new AppError('forbidden', 'Set METRICS_TOKEN to scrape /metrics from another host.')
      }
      if (token && !bearerMatches(req.get('authorization'), token)) {
        throw new AppError('unauthorized', 'A valid metrics token is required.', {
          headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' },
        })
      }
      res.setHeader('Cache-Control', 'no-store')
      res.type(this.registry.contentType).send(await this.registry.metrics())
    })
    return r
  }
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '')
  if (!m) return false
  const given = Buffer.from(m[1]!.trim())
  const expected = Buffer.from(token)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped form. */
function isLoopback(ip: string): boolean {
  try {
    return ipaddr.process(ip).range() === 'loopback'
  } catch {
    return false
  }
}
