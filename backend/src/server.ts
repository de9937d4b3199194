import type { Server as HttpServer } from 'node:http'
import type { Express } from 'express'
import type { AddressInfo } from 'node:net'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { createApp } from './app'
import { HealthChecks } from './ops/health'
import { createLimitedServer } from './http/server-limits'
import type { Config } from './config'
import { connectDb } from './db/connect'
import type { Deps } from './deps'
import { Limits, limitRules } from './limits/limits'
import { createLogger } from './logger'
import { openStore } from './storage/open-store'
import { blobRouter } from './storage/blob.routes'
import { sharesRouter } from './shares/shares.routes'
import { createShares } from './shares/shares'
import { Janitor } from './jobs/janitor'
import { createRealtime, type Realtime } from './realtime'
import { ROOMS_NAMESPACE } from '@sharesync/protocol'
import { rtcRouter } from './rtc/ice.routes'
import { authMiddlewares } from './auth/session.middleware'
import { authRouter } from './auth/auth.routes'
import { socketSession, socketUser } from './auth/socket-auth'
import { mySharesRouter } from './auth/my-shares.routes'
import { adminRouter } from './admin/admin.routes'
import { AdminService } from './admin/admin.service'
import { AppEventBus } from './events'
import { Metrics } from './metrics/metrics'
import { SettingsService } from './settings/settings.service'
import { DownloadMonitor } from './monitor/download-monitor'
import { DownloadEvents } from './shares/download-events'
import { Admission } from './shares/admission'
import { LibraryFs } from './library/library-fs'
import { libraryRouter } from './library/library.routes'
import { monitorRouter } from './monitor/monitor.routes'
import { NotificationsService } from './notifications/notifications.service'
import { notificationsRouter } from './notifications/notifications.routes'
import { LibraryService } from './library/library.service'
import { listenAdminSocket } from './ops/admin-socket'
import { openApiRouter } from './openapi/openapi.routes'
import { TokenService } from './tokens/token.service'
import { tokensRouter } from './tokens/tokens.routes'
import { roomFilesRouter } from './rooms/room-files.routes'
import { createFileRequests } from './requests/requests'
import { requestsRouter } from './requests/requests.routes'

export interface RunningServer {
  url: string
  port: number
  deps: Deps
  http: HttpServer
  /** the Express app (its router stack lists every route: the bad-input sweep walks it) */
  app: Express
  realtime: Realtime
  /** Graceful: stop accepting, let in-flight requests finish, close dependencies. */
  close(): Promise<void>
}

export async function openDeps(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<Deps> {
  // The Redis client is loaded only when REDIS_URL is set (the embedded default runs without it).
  const redis: Redis | null = config.redisUrl
    ? new (await import('ioredis')).Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 3000, commandTimeout: 2000, lazyConnect: true })
    : null
  if (redis) {
    redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis error'))
    // Redis accelerates, it is not required: without it rate limits count per instance until it
    // answers (ioredis keeps reconnecting), so an instance starts while Redis is away.
    await redis.connect().catch((err: Error) => logger.warn({ err: err.message }, 'redis unreachable at startup, continuing without it'))
  }
  const db = await connectDb(config.database, logger)
  const store = await openStore(config)
  const events = new AppEventBus(logger)
  const limits = new Limits(limitRules(config), { db, redis: redis ?? undefined }, (limit) => events.emit('rateLimited', { limit }))
  const settings = new SettingsService(db, config, logger)
  const monitor = new DownloadMonitor({ db, logger }, { stallTimeoutMs: config.stallTimeoutMs })
  const downloadEvents = new DownloadEvents({ db, logger }, { flushMs: config.downloadCountFlushMs })
  return { config, logger, db, store, limits, redis, events, settings, monitor, downloadEvents }
}

export async function startServer(config: Config, opts: { logger?: Logger; janitor?: boolean } = {}): Promise<RunningServer> {
  const deps = await openDeps(config, opts.logger)
  const metrics = new Metrics(deps)
  let ownUrl = config.publicUrl ?? ''
  const notifications = new NotificationsService(deps, () => config.publicUrl ?? ownUrl)
  const library = new LibraryService(deps, new Admission(deps), deps.config.library ? new LibraryFs(deps.config.library) : null, (id, viewer, notify) =>
    notifications.onLinkCreated(id, viewer, notify),
  )
  const shares = createShares(deps, library, (shareId) => realtime.rooms.service.linkOnline(shareId))
  const health = new HealthChecks(deps)
  const tokens = new TokenService(deps)
  // Each feature adds its middleware and router here, one line each.
  const app = createApp(deps, {
    health,
    before: [
      metrics.httpMiddleware,
      ...authMiddlewares(deps, tokens),
    ],
    routers: [
      metrics.router(),
      adminRouter(deps, () => realtime.adminLive(), new AdminService(deps, () => realtime.adminLive(), shares.deletion)),
      blobRouter(deps),
      authRouter(deps),
      mySharesRouter(deps, shares.deletion),
      sharesRouter(deps, shares),
      libraryRouter(deps, library),
      monitorRouter(deps, () => realtime.stopDownload),
      notificationsRouter(deps, notifications),
      rtcRouter(deps),
      roomFilesRouter(deps, () => realtime.rooms),
      openApiRouter(deps),
      tokensRouter(tokens),
      requestsRouter(deps, createFileRequests(deps, shares)),
    ],
  })
  const http = createLimitedServer(app, config)
  const realtime = createRealtime(http, deps, { engineMiddlewares: [socketSession(deps)] })
  realtime.io.of(ROOMS_NAMESPACE).use(socketUser(deps))
  metrics.watchSockets(() => realtime.localFigures())

  const janitor = new Janitor(deps, undefined, shares.deletion)
  if (opts.janitor !== false) janitor.start()

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(config.port, config.host, () => resolve())
  })
  const { port } = http.address() as AddressInfo
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host
  ownUrl = `http://${host}:${port}`
  notifications.start()
  // The recovery command reaches the embedded database through this server (ops/admin-socket.ts).
  const adminSocket =
    config.database.kind === 'pglite' && config.database.dir !== 'memory://'
      ? await listenAdminSocket(deps, config.dataDir).catch((err: Error) => {
          deps.logger.warn({ err: err.message }, 'no admin socket: `pnpm admin:link` works only while the server is stopped')
          return null
        })
      : null

  let closing: Promise<void> | null = null
  return {
    url: `http://${host}:${port}`,
    port,
    deps,
    http,
    app,
    realtime,
    close() {
      closing ??= (async () => {
        // Balancers polling /api/health/ready see "draining" and stop sending new work.
        health.drain()
        adminSocket?.close()
        janitor.stop()
        deps.monitor.close()
        await notifications.stop()
        await realtime.close()
        // Keep-alive clients would otherwise go on sending requests on their open connections:
        // answer each in-flight request with "Connection: close", and drop idle connections.
        http.on('request', (_req, res) => res.setHeader('Connection', 'close'))
        const idle = setInterval(() => http.closeIdleConnections(), 250)
        await new Promise<void>((resolve) => {
          http.close(() => resolve())
          http.closeIdleConnections()
        })
        clearInterval(idle)
        // the download counts of unlimited shares still in memory
        await deps.downloadEvents.stop()
        await deps.store.close?.()
        await deps.db.close()
        deps.redis?.disconnect()
      })()
      return closing
    },
  }
}
