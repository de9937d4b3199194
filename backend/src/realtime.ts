import type { Server as HttpServer, IncomingMessage } from 'node:http'
import { createRequire } from 'node:module'
import type { createAdapter as CreateAdapter } from '@socket.io/redis-adapter'
import { ACCOUNT_NAMESPACE, ADMIN_NAMESPACE, MAX_SOCKET_FRAME_BYTES, ROOMS_NAMESPACE, type ClientToServer, type LiveFigures, type ServerToClient } from '@sharesync/protocol'
import { Server } from 'socket.io'
import { tokenRoom, userRoom } from './auth/socket-auth'
import { registerAdminFeed, type AdminFeedOptions, type AdminNamespace } from './admin/admin.socket'
import { registerMonitorFeed, type AccountNamespace, type MonitorNamespace } from './monitor/monitor.socket'
import type { Deps } from './deps'
import { roomsLiveStats } from './rooms/live-stats'
import { registerRooms, type InterServer, type RoomsRegistration, type RoomsOptions, type SocketData } from './rooms/rooms.socket'

export type RealtimeServer = Server<ClientToServer, ServerToClient, InterServer, SocketData>
/** An engine-level (handshake) middleware, e.g. the session reader: `(req, res, next) => …`. */
export type EngineMiddleware = Parameters<RealtimeServer['engine']['use']>[0]

export interface RealtimeOptions {
  /** Run on every handshake request before any namespace sees the socket (sessions, auth). */
  engineMiddlewares?: EngineMiddleware[]
  rooms?: RoomsOptions
  admin?: AdminFeedOptions
}

export interface Realtime {
  io: RealtimeServer
  /** the rooms namespace's parts (service, store, room files): tests reach the rules through it */
  rooms: RoomsRegistration
  /** Live counters of the /rooms namespace (all instances), for the admin dashboard. */
  roomsStats: () => ReturnType<typeof roomsLiveStats>
  /** Live figures for the admin dashboard (all instances). */
  adminLive: () => Promise<LiveFigures>
  /** Ends a monitored download on whichever instance serves it; false when none does. */
  stopDownload: (id: string) => Promise<boolean>
  /** This instance's connections and rooms, for the metrics gauges. */
  localFigures: () => { sockets: number; rooms: number }
  close(): Promise<void>
}

/**
 * The Socket.IO server next to the HTTP API: small frames, same-origin browsers only, the Redis
 * adapter when REDIS_URL is set (peers on different instances meet), and the feature namespaces.
 */
export function createRealtime(http: HttpServer, deps: Deps, opts: RealtimeOptions = {}): Realtime {
  const { config, logger } = deps
  const io: RealtimeServer = new Server(http, {
    // Relay chunks (256 KiB, base64 on long-polling) are the biggest frames; signals are bounded by their schema.
    // Anything bigger is refused and the socket closed.
    maxHttpBufferSize: MAX_SOCKET_FRAME_BYTES,
    serveClient: false,
    // WebSocket only with several instances (SOCKET_TRANSPORTS): no sticky sessions needed.
    transports: [...config.socketTransports],
    // No CORS headers: the web app is served from the same origin.
    allowRequest: (req, callback) => callback(null, originAllowed(req, config.publicUrl)),
    // One instance: a socket back within the grace period gets its seats and missed events again.
    // Not with Redis: the pub/sub adapter cannot restore sessions (reconnect tokens do that job).
    ...(deps.redis ? {} : { connectionStateRecovery: { maxDisconnectionDuration: config.rooms.reconnectGrace * 1000, skipMiddlewares: true } }),
  })

  for (const mw of opts.engineMiddlewares ?? []) io.engine.use(mw)

  // The adapter's clients queue while Redis is away instead of timing commands out: its internal
  // publishes and reconnect handshakes are not awaited, so a timeout would be an unhandled rejection.
  const adapterClient = () => deps.redis!.duplicate({ lazyConnect: false, enableOfflineQueue: true, commandTimeout: undefined })
  const redisClients = deps.redis ? [adapterClient(), adapterClient()] : []
  if (redisClients.length === 2) {
    for (const c of redisClients) c.on('error', (err: Error) => logger.warn({ err: err.message }, 'socket.io redis adapter error'))
    // A publish already sent when the connection drops is rejected ("Connection is closed"), and the
    // adapter never awaits its publishes: that message is lost (as any broadcast during an outage),
    // but it must not become an unhandled rejection.
    const pub = redisClients[0]!
    const publish = pub.publish.bind(pub) as (...args: unknown[]) => Promise<number>
    pub.publish = ((...args: unknown[]) => {
      const sent = publish(...args)
      sent.catch((err: Error) => logger.debug({ err: err.message }, 'socket.io redis adapter: a publish was lost'))
      return sent
    }) as typeof pub.publish
    // requestsTimeout: a frozen instance holds up cluster-wide requests (fetchSockets) this long at most.
    // the adapter (~10 MiB once loaded) is loaded only with Redis: the embedded default never needs it
    const { createAdapter } = createRequire(import.meta.url)('@socket.io/redis-adapter') as { createAdapter: typeof CreateAdapter }
    io.adapter(createAdapter(redisClients[0], redisClients[1], { key: 'sharesync:sio', requestsTimeout: 2000 }))
  }

  // Namespaces, one line each (an admin live feed can be added here).
  const rooms = registerRooms(io.of(ROOMS_NAMESPACE), deps, opts.rooms)
  // The admin namespace has its own event maps; one Server instance serves both.
  const adminFeed = registerAdminFeed(io.of(ADMIN_NAMESPACE) as unknown as AdminNamespace, io.of(ROOMS_NAMESPACE), deps, opts.admin)
  // Download monitoring: live progress for admins (/admin) and owners (/account), Stop across instances.
  const monitorFeed = registerMonitorFeed(io.of(ADMIN_NAMESPACE) as unknown as MonitorNamespace, io.of(ACCOUNT_NAMESPACE) as unknown as AccountNamespace, deps)

  // A signed-in user's sockets join its user room in each namespace: when the user is disabled,
  // promoted or demoted, every connection of theirs is closed, on every instance (Redis adapter),
  // and what they open next is checked against the database again.
  const userNamespaces = [io.of(ROOMS_NAMESPACE), io.of(ADMIN_NAMESPACE), io.of(ACCOUNT_NAMESPACE)]
  for (const nsp of userNamespaces) {
    nsp.on('connection', (socket) => {
      const userId = (socket.data as { userId?: string | null }).userId
      if (userId) void socket.join(userRoom(userId))
    })
  }
  const offAccess = deps.events.on('userAccessChanged', ({ userId }) => {
    for (const nsp of userNamespaces) nsp.in(userRoom(userId)).disconnectSockets(true)
  })
  // Sockets opened with an API token close when it is revoked (on every instance, as above).
  const offRevoked = deps.events.on('tokenRevoked', ({ tokenId }) => {
    for (const nsp of userNamespaces) nsp.in(tokenRoom(tokenId)).disconnectSockets(true)
  })

  let closing: Promise<void> | null = null
  return {
    io,
    rooms,
    roomsStats: () => roomsLiveStats(io.of(ROOMS_NAMESPACE), logger),
    adminLive: () => adminFeed.live(),
    stopDownload: (id) => monitorFeed.stop(id),
    localFigures: () => ({ sockets: io.engine.clientsCount, rooms: rooms.localRooms() }),
    close() {
      // Not io.close(): that would also close the HTTP server, which server.ts shuts down gracefully.
      closing ??= (async () => {
        adminFeed.stop()
        offAccess()
        offRevoked()
        monitorFeed.close()
        rooms.stop()
        io.engine.close()
        for (const nsp of io._nsps.values()) await nsp.adapter.close()
        await Promise.all(redisClients.map((c) => c.quit().catch(() => c.disconnect())))
      })()
      return closing
    },
  }
}

/** Browsers always send Origin on a WebSocket/XHR: it must be this app. Node clients send none. */
function originAllowed(req: IncomingMessage, publicUrl: string | undefined): boolean {
  const origin = req.headers.origin
  if (origin === undefined) return true
  if (origin === 'null') return false
  try {
    const url = new URL(origin)
    if (publicUrl && new URL(publicUrl).origin === url.origin) return true
    return url.host === req.headers.host
  } catch {
    return false
  }
}
