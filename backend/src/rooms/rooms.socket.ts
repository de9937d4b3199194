import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { linkRoomId, ROOMS_CLIENT_EVENTS, type Ack, type Reconnect, type RoomInfo } from '@sharesync/protocol'
import proxyAddr from 'proxy-addr'
import type { z } from 'zod'
import { p2pRepo } from '../db/p2p.repo'
import type { Deps } from '../deps'
import { AppError } from '../http/app-error'
import { addressKey } from '../http/client-address'
import { toAppError } from '../http/error-middleware'
import { deviceName } from './device-name'
import { DEFAULT_EVENT_BUDGET, EventBudget, type EventBudgetRule } from './event-budget'
import { forwardedButUntrusted, networkOf } from './network-group'
import { parseToken } from './reconnect-token'
import { createRelaySockets, type RelayCaller } from './relay/relay-socket'
import type { RelayRules } from './relay/relay-hub'
import { RedisRoomStore } from './redis-room-store'
import { newPeerId, RoomPresence } from './room-presence'
import { hostChannel, memberships, peerChannel, peerOf, roomChannel, type Membership, type RoomsNamespace, type RoomsSocket } from './room-sockets'
import { MemoryRoomStore } from './room-store'
import { RoomsCluster } from './rooms-cluster'
import { RoomsService, type Entered } from './rooms.service'
import { TransferLedger } from './transfer-ledger'
import { RoomFiles, type RoomMember } from './room-files.service'
import { Admission } from '../shares/admission'
import { ShareDeletion } from '../shares/deletion.service'
import type { Viewer } from '../http/viewer'
import { forwardReceipts } from '../links/link-receipts'
import { LinkService } from '../links/link.service'
import { DownloadService } from '../shares/download.service'
import { PasswordGate } from '../shares/password-gate'
import type { LinkRole } from './room-store'

export type { InterServer, Membership, RoomsNamespace, RoomsSocket, SocketData } from './room-sockets'
export { peerChannel, peerOf, roomChannel } from './room-sockets'

const STATS_BUDGET: EventBudgetRule = { burst: 20, perSecond: 1, maxStrikes: 50, strikeWindowMs: 60_000 }
/** Room file events read (and `files:leave` writes) the database and sign URLs. */
const FILES_BUDGET: EventBudgetRule = { burst: 30, perSecond: 3, maxStrikes: 50, strikeWindowMs: 60_000 }
/** Link events read and write the database (claims, leases, counts) and check passwords. */
const LINK_BUDGET: EventBudgetRule = { burst: 30, perSecond: 3, maxStrikes: 50, strikeWindowMs: 60_000 }
/**
 * Signal bytes per socket: a WebRTC negotiation is a few KiB, ICE restarts included. Also the bound
 * of what connection state recovery keeps for replay (every event sent in the last grace period
 * plus up to a minute): at most ~3 MB per socket.
 */
const SIGNAL_BYTES_BUDGET: EventBudgetRule = { burst: 256 * 1024, perSecond: 32 * 1024, maxStrikes: 100, strikeWindowMs: 10_000 }

export interface RoomsOptions {
  budget?: EventBudgetRule
  /** overrides ROOM_HEARTBEAT (tests) */
  heartbeatMs?: number
  /** overrides the relay's tuning (tests, benchmarks) */
  relay?: Partial<RelayRules>
}

/** Redis lost the rooms a moment ago and the instances are still putting the seats back. */
const restoring = () => new AppError('redis_unavailable', 'The server is restoring its rooms after an outage; try again in a moment.')

/** Registers the `/rooms` signaling namespace: thin handlers that parse, call the service, ack. */
export function registerRooms(nsp: RoomsNamespace, deps: Deps, opts: RoomsOptions = {}) {
  const { config, logger } = deps
  const store = deps.redis ? new RedisRoomStore(deps.redis) : new MemoryRoomStore()
  const instance = randomBytes(9).toString('base64url')
  const files = new RoomFiles(deps, new Admission(deps), new ShareDeletion(deps))
  const passwords = new PasswordGate(deps)
  const links = new LinkService(deps, passwords, new DownloadService(deps, passwords))
  const keeper = { keptUntil: (roomId: string) => files.keptUntil(roomId), ended: (roomId: string) => deps.events.emit('roomClosed', { roomId }) }
  const service = new RoomsService({ store, limits: deps.limits, reports: p2pRepo(deps.db), rules: config.rooms, instance, nearbyKey: `nearby:${config.sessionSecret}`, keeper })
  const trust = trustValue(config.trustProxy)
  // Cloud downloads of `direct` shares, as receipts for their hosts (wherever those are seated).
  const stopReceipts = forwardReceipts(deps, (shareId, receipt) => {
    const linkId = linkRoomId(shareId)
    nsp.to(hostChannel(linkId)).emit('link:receipt', { linkId, receipt })
  })

  // The relay finds sockets through presence.locals; presence tells the relay who leaves a room.
  const presence = new RoomPresence({ nsp, service, store, events: deps.events, logger, graceMs: config.rooms.reconnectGrace * 1000, leaving: (socket, roomId) => relaySockets.drop(socket, roomId) })
  const { locals } = presence
  const relaySockets = createRelaySockets({ nsp, deps, store, instance, locals, rules: opts.relay })

  const cluster = new RoomsCluster({
    store,
    instance,
    intervalMs: opts.heartbeatMs ?? config.rooms.heartbeat * 1000,
    codeTtlMs: config.rooms.codeTtl * 1000,
    localSeats: () => presence.liveSeats(),
    restored: (seat) => presence.restored(seat),
    reaped: (roomId, peerId, remaining) => presence.reaped(roomId, peerId, remaining),
    askOthers: async () => {
      // The adapter's requestsTimeout (realtime.ts) bounds the wait for a frozen instance.
      await nsp.serverSideEmitWithAck('rooms:resync')
    },
    logger,
  })
  nsp.on('rooms:resync', (ack) => {
    cluster.beat().then(
      () => ack(true),
      () => ack(false),
    )
  })
  cluster.start()

  const linkBase = (req: IncomingMessage) => {
    if (config.publicUrl) return config.publicUrl
    const origin = req.headers.origin
    if (origin && origin !== 'null') return origin
    return `http://${req.headers.host ?? 'localhost'}`
  }
  const roomInfo = (socket: RoomsSocket, { room, codeExpiresAt }: Entered): RoomInfo => ({
    id: room.id,
    code: room.code,
    codeExpiresAt: new Date(codeExpiresAt).toISOString(),
    link: `${linkBase(socket.request)}/r/${room.secret}`,
    secret: room.secret,
    capacity: room.capacity,
  })
  const reconnectOf = (entered: Entered): { reconnect?: Reconnect } => (entered.token ? { reconnect: { token: entered.token, graceSeconds: config.rooms.reconnectGrace } } : {})

  const redisDown = (err: unknown) =>
    deps.redis !== null && !(err instanceof AppError) && (deps.redis.status !== 'ready' || /Connection is closed|Stream isn't writeable|timed out|ECONNREFUSED|MaxRetries/i.test((err as Error)?.message ?? ''))

  nsp.on('connection', (socket) => {
    const budget = new EventBudget(opts.budget ?? DEFAULT_EVENT_BUDGET)
    // Transfer stats write to the database: a much smaller budget than signals.
    const statsBudget = new EventBudget(STATS_BUDGET)
    const signalBytes = new EventBudget(SIGNAL_BYTES_BUDGET)
    const transfers = new TransferLedger()
    const filesBudget = new EventBudget(FILES_BUDGET)
    const linkBudget = new EventBudget(LINK_BUDGET)
    /** this recipient's direct downloads not settled yet: their leases live while it stays seated */
    const claims = new Set<string>()
    let claimKeeper: NodeJS.Timeout | null = null
    if (socket.recovered) {
      void presence.recovered(socket).catch((err: unknown) => logger.warn({ err }, 'rooms: could not restore a recovered socket'))
    } else {
      const device = deviceName(socket.request.headers['user-agent'])
      socket.data = {
        peerId: newPeerId(),
        room: null,
        nearby: null,
        link: null,
        name: device,
        device,
        ip: proxyAddr(socket.request, trust),
        activeTransfers: 0,
        relays: 0,
        userId: socket.data?.userId ?? null,
      }
      presence.connected(socket)
    }
    // Limits count IPv6 clients by network (client-address.ts), so rotating addresses earns no guesses.
    const caller = () => ({ ip: addressKey(socket.data.ip, config.rateLimits.ipv6Prefix) })
    const seatFor = (input: { name?: string; resumable?: boolean }) => {
      if (input.name) socket.data.name = input.name
      return { peerId: socket.data.peerId, name: socket.data.name, device: socket.data.device, conn: socket.id, resumable: input.resumable === true }
    }
    const strike = () => {
      if (budget.take() !== 'disconnect') return
      logger.warn({ peerId: socket.data.peerId, ip: socket.data.ip }, 'rooms: socket flooded events, disconnecting')
      socket.disconnect(true)
    }

    /** Budget, schema, then the work; every outcome answers the ack (errors never become throws). */
    function handle<E extends keyof typeof ROOMS_CLIENT_EVENTS, R extends object>(event: E, work: (input: z.output<(typeof ROOMS_CLIENT_EVENTS)[E]>) => Promise<R>, extra?: EventBudget) {
      const schema = ROOMS_CLIENT_EVENTS[event]
      return (payload: unknown, ack?: unknown) => {
        const reply = (res: Ack<R>) => {
          if (typeof ack === 'function') (ack as (r: Ack<R>) => void)(res)
        }
        const first = budget.take()
        const verdict = first === 'ok' && extra ? extra.take() : first
        if (verdict !== 'ok') {
          reply({ ok: false, error: { code: 'rate_limited', message: 'Too many messages, please slow down.' } })
          if (verdict === 'disconnect') {
            logger.warn({ peerId: socket.data.peerId, ip: socket.data.ip }, 'rooms: socket flooded events, disconnecting')
            socket.disconnect(true)
          }
          return
        }
        void (async () => {
          try {
            const result = await work(schema.parse(payload) as z.output<(typeof ROOMS_CLIENT_EVENTS)[E]>)
            reply({ ok: true, ...result })
          } catch (err) {
            const appError = redisDown(err) ? new AppError('redis_unavailable', 'Rooms are unavailable for a moment, please try again shortly.') : toAppError(err)
            if (appError.status >= 500) logger.error({ err, event }, 'rooms: event failed')
            const retryAfter = appError.extra.retryAfter
            reply({ ok: false, error: { code: appError.code, message: appError.message, ...(retryAfter !== undefined ? { retryAfter } : {}) } })
          }
        })()
      }
    }

    /**
     * Runs `attempt`; when what it looked for is missing because Redis lost it, restores and tries
     * once more; still missing while the instances put seats back: "try again" rather than "gone".
     */
    async function orRecover<T>(attempt: () => Promise<T>): Promise<T> {
      try {
        return await attempt()
      } catch (err) {
        if (!(err instanceof AppError && (err.code === 'room_not_found' || err.code === 'resume_refused')) || !(await cluster.recoverIfLost())) throw err
        try {
          return await attempt()
        } catch (again) {
          if (again instanceof AppError && again.code === err.code) throw restoring()
          throw again
        }
      }
    }

    /** A reconnect token must name this socket's peer, unless the socket has no seat yet. */
    function checkTokenPeer(token: string) {
      const parsed = parseToken(token)
      if (parsed && parsed.peerId !== socket.data.peerId && memberships(socket.data).length > 0) {
        throw new AppError('resume_refused', 'Resume before joining anything else on this connection.')
      }
    }

    /** The room or nearby group `to` shares with this socket, or a `forbidden` error. */
    async function sharedWith(to: string): Promise<string> {
      const mine = memberships(socket.data).map((m) => m.roomId)
      if (mine.length === 0) throw new AppError('forbidden', 'Join a room first.')
      const local = locals.get(to)
      // On this instance: decided from the sockets themselves, without a round trip to Redis.
      // In a link room only a recipient and a host reach each other.
      const reachable = (m: Membership) => m.kind !== 'link' || (m.role === 'host') !== (socket.data.link?.role === 'host')
      const shared = local && local !== socket ? mine.find((id) => memberships(local.data).some((m) => m.roomId === id && reachable(m))) : undefined
      const found = shared ?? (await service.sharedRoom(mine, socket.data.peerId, to))
      if (found) return found
      if (!(await cluster.recoverIfLost())) throw new AppError('forbidden', 'That peer is not in your room.')
      const afterRestore = await service.sharedRoom(mine, socket.data.peerId, to)
      if (!afterRestore) throw restoring()
      return afterRestore
    }
    const relayCaller: RelayCaller = { sharedWith, addressKey: () => `ip:${caller().ip}`, strike }

    socket.on(
      'room:create',
      handle('room:create', async (input) => {
        await presence.leave(socket, 'room')
        const entered = await service.create(caller(), seatFor(input))
        deps.events.emit('roomOpened', { roomId: entered.room.id })
        await presence.enter(socket, 'room', entered, input.resumable === true)
        return { room: roomInfo(socket, entered), self: peerOf(entered.self), ...reconnectOf(entered) }
      }),
    )

    socket.on(
      'room:join',
      handle('room:join', async (input) => {
        const by = 'code' in input ? { code: input.code } : { secret: input.secret }
        await presence.leave(socket, 'room')
        const entered = await orRecover(() => service.join(caller(), by, seatFor(input)))
        await presence.enter(socket, 'room', entered, input.resumable === true)
        return { room: roomInfo(socket, entered), self: peerOf(entered.self), peers: entered.peers.map(peerOf), ...reconnectOf(entered) }
      }),
    )

    socket.on(
      'room:resume',
      handle('room:resume', async ({ token }) => {
        checkTokenPeer(token)
        await presence.leave(socket, 'room')
        const entered = await orRecover(() => service.resume(token, socket.id))
        presence.adoptPeerId(socket, entered.self.peerId)
        await presence.enter(socket, 'room', entered, true)
        return { room: roomInfo(socket, entered), self: peerOf(entered.self), peers: entered.peers.map(peerOf), reconnect: { token: entered.token!, graceSeconds: config.rooms.reconnectGrace } }
      }),
    )

    socket.on(
      'room:leave',
      handle('room:leave', async () => {
        await presence.leave(socket, 'room')
        return {}
      }),
    )

    socket.on(
      'nearby:join',
      handle('nearby:join', async (input) => {
        // Behind a proxy the server does not trust, every client shows the proxy's address.
        const network = forwardedButUntrusted(socket.request.headers, config.trustProxy !== false) ? null : networkOf(socket.data.ip)
        if (!network) throw new AppError('nearby_unavailable', 'Nearby devices are not available here: the server cannot tell which network this device is on (set TRUST_PROXY behind a proxy).')
        if (input.token !== undefined) checkTokenPeer(input.token)
        await presence.leave(socket, 'nearby')
        const entered = await orRecover(() => service.joinNearby(network, seatFor(input), input.token))
        presence.adoptPeerId(socket, entered.self.peerId)
        await presence.enter(socket, 'nearby', entered, input.resumable === true)
        return { nearby: { id: entered.room.id, capacity: entered.room.capacity }, self: peerOf(entered.self), peers: entered.peers.map(peerOf), ...reconnectOf(entered) }
      }),
    )

    socket.on(
      'nearby:leave',
      handle('nearby:leave', async () => {
        await presence.leave(socket, 'nearby')
        return {}
      }),
    )

    socket.on(
      'signal',
      handle('signal', async ({ to, data }) => {
        const verdict = signalBytes.take(JSON.stringify(data).length)
        if (verdict === 'disconnect') socket.disconnect(true)
        if (verdict !== 'ok') throw new AppError('rate_limited', 'Too much signaling data, please slow down.')
        await sharedWith(to)
        // `from` is always the server's idea of who sent it, never the client's.
        const local = locals.get(to)
        if (local) local.emit('signal', { from: socket.data.peerId, data })
        else nsp.to(peerChannel(to)).emit('signal', { from: socket.data.peerId, data })
        return {}
      }),
    )

    socket.on(
      'relay:open',
      handle('relay:open', ({ to, bytes }) => relaySockets.open(socket, relayCaller, to, bytes)),
    )
    socket.on('relay:data', (payload: unknown, ack?: unknown) => relaySockets.data(socket, relayCaller, payload, ack))
    socket.on(
      'relay:close',
      handle('relay:close', async ({ id }) => relaySockets.close(socket, id)),
    )

    const statsRoom = () => (socket.data.room ?? socket.data.nearby ?? socket.data.link)?.roomId ?? null

    socket.on(
      'transfer:started',
      handle('transfer:started', async (announced) => {
        const roomId = statsRoom()
        if (!roomId) throw new AppError('forbidden', 'Join a room first.')
        transfers.start(roomId, announced)
        socket.data.activeTransfers = transfers.size
        return {}
      }, statsBudget),
    )

    socket.on(
      'transfer:report',
      handle('transfer:report', async (report) => {
        const roomId = statsRoom()
        if (!roomId) throw new AppError('forbidden', 'Join a room first.')
        // Bounded by what was announced, and by a per-room budget (the stats are written to the database).
        const stats = transfers.settle(roomId, report)
        socket.data.activeTransfers = transfers.size
        await deps.limits.consume('roomReports', `room:${roomId}`)
        await service.report(roomId, socket.data.userId, stats)
        deps.events.emit('transferFinished', stats)
        return {}
      }, statsBudget),
    )

    /** The room (joined by code or link, not a nearby group) this socket is in, as room files see it. */
    const roomMember = (): RoomMember => {
      const room = socket.data.room
      if (!room) throw new AppError('forbidden', 'Join a room first.')
      return { roomId: room.roomId, peerId: socket.data.peerId, name: socket.data.name }
    }
    const viewer = (): Viewer => {
      const handshake = socket.request.sessionUser
      const user = handshake && handshake.id === socket.data.userId ? handshake : null
      const address = caller().ip
      return { user, ip: socket.data.ip, address, clientKey: user ? `user:${user.id}` : `ip:${address}` }
    }

    socket.on(
      'files:leave',
      handle('files:leave', async (file) => ({ upload: await files.leave(viewer(), roomMember(), file) }), filesBudget),
    )
    socket.on(
      'files:ready',
      handle('files:ready', async ({ id }) => {
        const member = roomMember()
        const file = await files.ready(member, id)
        nsp.to(roomChannel(member.roomId)).emit('files:added', { roomId: member.roomId, file })
        return { file }
      }, filesBudget),
    )
    socket.on(
      'files:list',
      handle('files:list', async () => ({ files: await files.list(roomMember().roomId) }), filesBudget),
    )
    socket.on(
      'files:url',
      handle('files:url', async ({ id }) => files.url(roomMember(), id, linkBase(socket.request)), filesBudget),
    )
    socket.on(
      'files:remove',
      handle('files:remove', async ({ id }) => {
        const member = roomMember()
        await files.remove(member, id)
        nsp.to(roomChannel(member.roomId)).emit('files:removed', { roomId: member.roomId, id })
        return {}
      }, filesBudget),
    )

    /** This socket's seat in a link room, in `role`; `forbidden` otherwise. */
    const linkSeat = (role: LinkRole) => {
      const m = socket.data.link
      if (!m || m.role !== role) throw new AppError('forbidden', role === 'host' ? 'Host this link first (link:host).' : 'Join this link first (link:join).')
      return { linkId: m.roomId, shareId: m.roomId.slice(linkRoomId('').length) }
    }
    const stopClaims = () => {
      claims.clear()
      if (claimKeeper) clearInterval(claimKeeper)
      claimKeeper = null
    }
    // A recipient's leases are kept alive while its socket stays seated, like a streaming download's.
    const keepClaims = () => {
      if (claimKeeper) return
      claimKeeper = setInterval(() => {
        links.keepAlive([...claims]).then(
          (active) => {
            for (const id of claims) if (!active.includes(id)) claims.delete(id)
            if (claims.size === 0) stopClaims()
          },
          (err: unknown) => logger.warn({ err }, 'links: could not keep claims alive'),
        )
      }, Math.max(500, (config.downloadLeaseTtl * 1000) / 3))
      claimKeeper.unref()
    }
    const leaveLink = async () => {
      stopClaims()
      await presence.leave(socket, 'link')
    }

    socket.on(
      'link:host',
      handle('link:host', async ({ shareId, ownerToken }) => {
        await links.hostable(viewer(), shareId, ownerToken)
        await leaveLink()
        const entered = await service.enterLink(shareId, 'host', seatFor({}))
        await presence.enter(socket, 'link', entered, false)
        return { link: { id: entered.room.id, shareId }, self: peerOf(entered.self), peers: entered.peers.map(peerOf) }
      }, linkBudget),
    )
    socket.on(
      'link:join',
      handle('link:join', async ({ shareId, password }) => {
        await links.joinable(viewer(), shareId, password)
        await leaveLink()
        const entered = await service.enterLink(shareId, 'recipient', seatFor({}))
        await presence.enter(socket, 'link', entered, false)
        return { link: { id: entered.room.id, shareId }, self: peerOf(entered.self), hosts: entered.peers.map(peerOf) }
      }, linkBudget),
    )
    socket.on(
      'link:claim',
      handle('link:claim', async (input) => {
        const { linkId, shareId } = linkSeat('recipient')
        if (!(await service.linkOnline(shareId))) throw new AppError('conflict', 'The sender is offline: wait until they are back, or download the cloud copy.')
        const ua = socket.request.headers['user-agent']
        const { files: asked, ...claimed } = await links.claim(shareId, { viewer: viewer(), peerId: socket.data.peerId, device: socket.data.device, userAgent: typeof ua === 'string' ? ua.slice(0, 300) : null, instanceId: instance }, input)
        claims.add(claimed.claim.id)
        keepClaims()
        nsp.to(hostChannel(linkId)).emit('link:claimed', { linkId, claimId: claimed.claim.id, peerId: socket.data.peerId, files: asked })
        return claimed
      }, linkBudget),
    )
    socket.on(
      'link:delivered',
      handle('link:delivered', async ({ claimId, bytes, path }) => {
        const { shareId } = linkSeat('host')
        await links.delivered(shareId, claimId, bytes, path)
        return {}
      }, linkBudget),
    )
    socket.on(
      'link:failed',
      handle('link:failed', async ({ claimId }) => {
        const m = socket.data.link
        if (!m) throw new AppError('forbidden', 'Join this link first (link:join).')
        const { linkId, shareId } = linkSeat(m.role === 'host' ? 'host' : 'recipient')
        await links.failed(shareId, claimId, m.role === 'host' ? undefined : socket.data.peerId)
        claims.delete(claimId)
        // The recipient gave up (e.g. it took the cloud copy): the hosts stop sending and show it failed.
        if (m.role !== 'host') nsp.to(hostChannel(linkId)).emit('link:claim-failed', { linkId, claimId })
        return {}
      }, linkBudget),
    )
    socket.on(
      'link:leave',
      handle('link:leave', async () => {
        await leaveLink()
        return {}
      }),
    )

    socket.on('disconnect', (reason) => {
      stopClaims()
      // Relay channels end with their socket, resumed or not: a resumed transfer opens new ones.
      relaySockets.drop(socket)
      // A page that left on purpose (or a socket cut off for flooding) does not come back.
      presence.disconnected(socket, reason === 'client namespace disconnect' || reason === 'server namespace disconnect')
    })
  })

  return {
    service,
    store,
    cluster,
    instance,
    relay: relaySockets.hub,
    files,
    /** This instance's open P2P rooms and nearby groups (metrics; link rooms are not counted). */
    localRooms: () => [...nsp.adapter.rooms.keys()].filter((r) => r.startsWith('room:') && !r.startsWith(roomChannel(linkRoomId('')))).length,
    stop() {
      stopReceipts()
      relaySockets.stop()
      service.stop()
      cluster.stop()
      presence.stop()
    },
  }
}

export type RoomsRegistration = ReturnType<typeof registerRooms>

function trustValue(value: boolean | number | string[]): (addr: string, i: number) => boolean {
  if (value === true) return () => true
  if (value === false) return () => false
  if (typeof value === 'number') return (_addr, i) => i < value
  return proxyAddr.compile(value)
}
