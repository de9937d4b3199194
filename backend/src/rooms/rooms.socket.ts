import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import {
  MAX_RELAY_CHUNK_BYTES,
  ROOMS_CLIENT_EVENTS,
  RelayData,
  type Ack,
  type ClientToServer,
  type Peer,
  type Reconnect,
  type RoomInfo,
  type ServerToClient,
} from '@sharesync/protocol'
import proxyAddr from 'proxy-addr'
import type { Namespace, Socket } from 'socket.io'
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
import { RedisRelayBus } from './relay/relay-bus'
import { RelayHub, type RelayEndpoint, type RelayRules } from './relay/relay-hub'
import { RedisRoomStore } from './redis-room-store'
import { MemoryRoomStore, type MemberRecord, type RoomKind, type RoomRecord } from './room-store'
import { RoomsCluster, type LocalSeat } from './rooms-cluster'
import { RoomsService, type Entered } from './rooms.service'
import { TransferLedger } from './transfer-ledger'

const STATS_BUDGET: EventBudgetRule = { burst: 20, perSecond: 1, maxStrikes: 50, strikeWindowMs: 60_000 }
/**
 * Signal bytes per socket: a WebRTC negotiation is a few KiB, ICE restarts included. Also the bound
 * of what connection state recovery keeps for replay (every event sent in the last grace period
 * plus up to a minute): at most ~3 MB per socket.
 */
const SIGNAL_BYTES_BUDGET: EventBudgetRule = { burst: 256 * 1024, perSecond: 32 * 1024, maxStrikes: 100, strikeWindowMs: 10_000 }

/** Between instances (Socket.IO server-side events): "check your seats now". */
export interface InterServer {
  'rooms:resync': (ack: (done: boolean) => void) => void
}

/** A socket's seat in a room or in its nearby group. */
export interface Membership {
  roomId: string
  kind: RoomKind
  resumable: boolean
}

export interface SocketData {
  peerId: string
  /** the room joined by code or link */
  room: Membership | null
  /** the nearby group of its network */
  nearby: Membership | null
  name: string
  device: string
  /** the client address (TRUST_PROXY-aware, as the rate limits see it) */
  ip: string
  /** transfers this socket announced and has not reported yet (live admin counter) */
  activeTransfers: number
  /** relay channels this socket opened and that are open (live admin counter) */
  relays: number
  /** set by the auth handshake middleware when the person is signed in */
  userId: string | null
}

export type RoomsNamespace = Namespace<ClientToServer, ServerToClient, InterServer, SocketData>
export type RoomsSocket = Socket<ClientToServer, ServerToClient, InterServer, SocketData>

export interface RoomsOptions {
  budget?: EventBudgetRule
  /** overrides ROOM_HEARTBEAT (tests) */
  heartbeatMs?: number
  /** overrides the relay's tuning (tests, benchmarks) */
  relay?: Partial<RelayRules>
}

/**
 * Relay channels: 256 KiB messages, 8 unacknowledged per direction (2 MiB in flight per channel and
 * direction at most), RELAY_STALL_TIMEOUT to acknowledge one; 8 channels per socket, 128 channel ends
 * per instance (so at most ~512 MiB in flight on one instance in the worst case).
 */
export const RELAY_RULES: RelayRules = { chunkBytes: MAX_RELAY_CHUNK_BYTES, window: 8, stallMs: 30_000, maxPerSocket: 8, maxEnds: 128 }

/** Socket.IO rooms: every member of a P2P room or nearby group, and every socket of one peer. */
export const roomChannel = (roomId: string) => `room:${roomId}`
export const peerChannel = (peerId: string) => `peer:${peerId}`
const seatKey = (roomId: string, peerId: string) => `${roomId} ${peerId}`
const newPeerId = () => randomBytes(12).toString('base64url')

/** Redis lost the rooms a moment ago and the instances are still putting the seats back. */
const restoring = () => new AppError('redis_unavailable', 'The server is restoring its rooms after an outage; try again in a moment.')

export const peerOf = (m: Pick<MemberRecord, 'peerId' | 'name' | 'device' | 'away'>): Peer => ({ peerId: m.peerId, name: m.name, device: m.device, ...(m.away ? { reconnecting: true } : {}) })

/** Registers the `/rooms` signaling namespace: thin handlers that parse, call the service, ack. */
export function registerRooms(nsp: RoomsNamespace, deps: Deps, opts: RoomsOptions = {}) {
  const { config, logger } = deps
  const store = deps.redis ? new RedisRoomStore(deps.redis) : new MemoryRoomStore()
  const instance = randomBytes(9).toString('base64url')
  const service = new RoomsService({ store, limits: deps.limits, reports: p2pRepo(deps.db), rules: config.rooms, instance, nearbyKey: `nearby:${config.sessionSecret}` })
  const trust = trustValue(config.trustProxy)
  const graceMs = config.rooms.reconnectGrace * 1000

  /** This instance's sockets by peer id, the seats it holds (for a restore), and held seats' timers. */
  const locals = new Map<string, RoomsSocket>()
  const seats = new Map<string, LocalSeat>()
  const held = new Map<string, ReturnType<typeof setTimeout>>()

  const cluster = new RoomsCluster({
    store,
    instance,
    intervalMs: opts.heartbeatMs ?? config.rooms.heartbeat * 1000,
    codeTtlMs: config.rooms.codeTtl * 1000,
    localSeats: () => [...seats.values()],
    restored: ({ room, member }) => nsp.to(roomChannel(room.id)).except(peerChannel(member.peerId)).emit('peer:joined', { roomId: room.id, peer: peerOf(member) }),
    reaped: async (roomId, peerId, remaining) => {
      nsp.to(roomChannel(roomId)).emit('peer:left', { roomId, peerId })
      if (await service.endIfEmpty(roomId, remaining)) deps.events.emit('roomClosed', { roomId })
    },
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

  const relayRules: RelayRules = { ...RELAY_RULES, stallMs: config.relay.stallMs, ...opts.relay }
  const endpoints = new Map<string, RelayEndpoint>()
  /** The hub's view of a socket (one per connection). */
  const endpointOf = (socket: RoomsSocket): RelayEndpoint => {
    let e = endpoints.get(socket.id)
    if (!e) {
      e = {
        conn: socket.id,
        get peerId() {
          return socket.data.peerId
        },
        opened: (p) => socket.emit('relay:opened', p),
        deliver: (p, done) => socket.timeout(relayRules.stallMs).emit('relay:data', p, (err: Error | null) => done(err ?? null)),
        closed: (p) => socket.emit('relay:closed', p),
      }
      endpoints.set(socket.id, e)
    }
    return e
  }
  /** Quota reserved at open, per channel: what was not sent is given back when it closes. */
  const reserved = new Map<string, { key: string; bytes: number }>()
  const relayStats = p2pRepo(deps.db)
  const bus = deps.redis ? new RedisRelayBus(deps.redis, instance, logger) : null
  const relay = new RelayHub({
    instance,
    rules: relayRules,
    bus,
    local: (peerId, roomId) => {
      const s = locals.get(peerId)
      return s && memberships(s.data).some((m) => m.roomId === roomId) ? endpointOf(s) : undefined
    },
    finished: (f) => {
      const socket = nsp.sockets.get(f.conn)
      if (socket && f.opener) socket.data.relays = relay.openedBy(f.conn)
      const quota = f.opener ? reserved.get(f.id) : undefined
      if (quota) {
        reserved.delete(f.id)
        if (quota.bytes > f.sent) void deps.limits.refund('relayQuota', quota.key, quota.bytes - f.sent)
      }
      deps.events.emit('relayFinished', { bytes: f.sent, ms: f.ms, opener: f.opener, reason: f.reason })
      relayStats.insertRelayEnd({ relayId: f.id, roomId: f.roomId, opener: f.opener, bytes: f.sent, ms: f.ms, reason: f.reason }).catch((err: unknown) => logger.warn({ err }, 'rooms: could not record a relay channel'))
    },
  })

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
  const memberships = (data: SocketData) => [data.room, data.nearby].filter((m): m is Membership => m !== null)

  const redisDown = (err: unknown) =>
    deps.redis !== null && !(err instanceof AppError) && (deps.redis.status !== 'ready' || /Connection is closed|Stream isn't writeable|timed out|ECONNREFUSED|MaxRetries/i.test((err as Error)?.message ?? ''))

  /** The socket now answers to `peerId` (a resume gives it back its old one). */
  function adoptPeerId(socket: RoomsSocket, peerId: string) {
    const old = socket.data.peerId
    if (old === peerId) return
    if (locals.get(old) === socket) locals.delete(old)
    void socket.leave(peerChannel(old))
    socket.data.peerId = peerId
    locals.set(peerId, socket)
    void socket.join(peerChannel(peerId))
  }

  function release(roomId: string, peerId: string) {
    const key = seatKey(roomId, peerId)
    seats.delete(key)
    const timer = held.get(key)
    if (timer) clearTimeout(timer)
    held.delete(key)
  }

  /** Seats the socket in `entered.room` and tells the others (`peer:joined`, or `peer:back` for a resume). */
  async function enter(socket: RoomsSocket, kind: RoomKind, entered: Entered, resumable: boolean) {
    const { room, self } = entered
    const key = seatKey(room.id, self.peerId)
    const timer = held.get(key)
    if (timer) clearTimeout(timer)
    held.delete(key)
    seats.set(key, { room, member: self })
    socket.data[kind] = { roomId: room.id, kind, resumable: resumable || entered.previous !== undefined }
    // Gone while being admitted: its 'disconnect' saw no seat yet, so the seat is given back here.
    if (socket.disconnected) return leave(socket, kind)
    await socket.join(roomChannel(room.id))
    const event = entered.previous ? 'peer:back' : 'peer:joined'
    socket.to(roomChannel(room.id)).emit(event, { roomId: room.id, peer: peerOf(self) })
    // Resumed while the old socket still looked connected (the drop was not noticed yet): it goes.
    if (entered.previous && entered.previous.conn !== socket.id && !entered.previous.away) nsp.in(entered.previous.conn).disconnectSockets(true)
  }

  /** Gives up the socket's seat of `kind` now. */
  async function leave(socket: RoomsSocket, kind: RoomKind) {
    const m = socket.data[kind]
    if (!m) return
    socket.data[kind] = null
    relay.drop(socket.id, m.roomId)
    await socket.leave(roomChannel(m.roomId))
    release(m.roomId, socket.data.peerId)
    const { removed, ended } = await service.leave(m.roomId, socket.data.peerId, socket.id)
    if (removed) nsp.to(roomChannel(m.roomId)).emit('peer:left', { roomId: m.roomId, peerId: socket.data.peerId })
    if (ended) deps.events.emit('roomClosed', { roomId: m.roomId })
  }

  /** After a drop: resumable seats are held for the grace period, the others freed at once. */
  async function dropped(socket: RoomsSocket, m: Membership, deliberate: boolean) {
    const { peerId } = socket.data
    const conn = socket.id
    if (deliberate || !m.resumable) {
      release(m.roomId, peerId)
      const { removed, ended } = await service.leave(m.roomId, peerId, conn)
      if (removed) nsp.to(roomChannel(m.roomId)).emit('peer:left', { roomId: m.roomId, peerId })
      if (ended) deps.events.emit('roomClosed', { roomId: m.roomId })
      return
    }
    if (!(await service.markAway(m.roomId, peerId, conn))) return release(m.roomId, peerId)
    const key = seatKey(m.roomId, peerId)
    const seat = seats.get(key)
    if (seat) seat.member = { ...seat.member, away: true }
    nsp.to(roomChannel(m.roomId)).emit('peer:reconnecting', { roomId: m.roomId, peerId })
    const expire = () => {
      held.delete(key)
      service.expire(m.roomId, peerId, conn).then(
        ({ removed, ended }) => {
          if (seats.get(key)?.member.conn === conn) seats.delete(key)
          if (removed) nsp.to(roomChannel(m.roomId)).emit('peer:left', { roomId: m.roomId, peerId })
          if (ended) deps.events.emit('roomClosed', { roomId: m.roomId })
        },
        (err: unknown) => {
          // Redis away: try again shortly rather than keep a ghost forever.
          logger.warn({ err: (err as Error).message }, 'rooms: could not free a held seat; retrying')
          held.set(key, setTimeout(expire, 2000).unref())
        },
      )
    }
    held.set(key, setTimeout(expire, graceMs).unref())
  }

  /** Connection state recovery brought the same socket back: its held seats are live again. */
  async function recovered(socket: RoomsSocket) {
    // Seats given up at the drop (no token asked for): the page joins again as it always did, and,
    // holding no seat any more, as a new peer (as it would on a new connection).
    for (const m of memberships(socket.data)) {
      if (m.resumable) continue
      socket.data[m.kind] = null
      void socket.leave(roomChannel(m.roomId))
    }
    if (memberships(socket.data).length === 0) adoptPeerId(socket, newPeerId())
    for (const m of memberships(socket.data)) {
      const key = seatKey(m.roomId, socket.data.peerId)
      const timer = held.get(key)
      if (timer) clearTimeout(timer)
      held.delete(key)
      if (await service.markBack(m.roomId, socket.data.peerId, socket.id)) {
        const seat = seats.get(key)
        if (seat) seat.member = { ...seat.member, away: false }
        const member = seat?.member ?? (await store.member(m.roomId, socket.data.peerId))
        if (member) socket.to(roomChannel(m.roomId)).emit('peer:back', { roomId: m.roomId, peer: peerOf(member) })
      } else {
        // The seat was freed meanwhile: the page joins again by itself.
        socket.data[m.kind] = null
        release(m.roomId, socket.data.peerId)
        await socket.leave(roomChannel(m.roomId))
        socket.emit('room:closed', { roomId: m.roomId })
      }
    }
  }

  nsp.on('connection', (socket) => {
    const budget = new EventBudget(opts.budget ?? DEFAULT_EVENT_BUDGET)
    // Transfer stats write to the database: a much smaller budget than signals.
    const statsBudget = new EventBudget(STATS_BUDGET)
    const signalBytes = new EventBudget(SIGNAL_BYTES_BUDGET)
    const transfers = new TransferLedger()
    if (socket.recovered) {
      locals.set(socket.data.peerId, socket)
      void recovered(socket).catch((err: unknown) => logger.warn({ err }, 'rooms: could not restore a recovered socket'))
    } else {
      const device = deviceName(socket.request.headers['user-agent'])
      socket.data = {
        peerId: newPeerId(),
        room: null,
        nearby: null,
        name: device,
        device,
        ip: proxyAddr(socket.request, trust),
        activeTransfers: 0,
        relays: 0,
        userId: socket.data?.userId ?? null,
      }
      locals.set(socket.data.peerId, socket)
      void socket.join(peerChannel(socket.data.peerId))
    }
    // Limits count IPv6 clients by network (client-address.ts), so rotating addresses earns no guesses.
    const caller = () => ({ ip: addressKey(socket.data.ip, config.rateLimits.ipv6Prefix) })
    const seatFor = (input: { name?: string; resumable?: boolean }) => {
      if (input.name) socket.data.name = input.name
      return { peerId: socket.data.peerId, name: socket.data.name, device: socket.data.device, conn: socket.id, resumable: input.resumable === true }
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
            reply({ ok: false, error: { code: appError.code, message: appError.message } })
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

    socket.on(
      'room:create',
      handle('room:create', async (input) => {
        await leave(socket, 'room')
        const entered = await service.create(caller(), seatFor(input))
        deps.events.emit('roomOpened', { roomId: entered.room.id })
        await enter(socket, 'room', entered, input.resumable === true)
        return { room: roomInfo(socket, entered), self: peerOf(entered.self), ...reconnectOf(entered) }
      }),
    )

    socket.on(
      'room:join',
      handle('room:join', async (input) => {
        const by = 'code' in input ? { code: input.code } : { secret: input.secret }
        await leave(socket, 'room')
        const entered = await orRecover(() => service.join(caller(), by, seatFor(input)))
        await enter(socket, 'room', entered, input.resumable === true)
        return { room: roomInfo(socket, entered), self: peerOf(entered.self), peers: entered.peers.map(peerOf), ...reconnectOf(entered) }
      }),
    )

    socket.on(
      'room:resume',
      handle('room:resume', async ({ token }) => {
        checkTokenPeer(token)
        await leave(socket, 'room')
        const entered = await orRecover(() => service.resume(token, socket.id))
        adoptPeerId(socket, entered.self.peerId)
        await enter(socket, 'room', entered, true)
        return { room: roomInfo(socket, entered), self: peerOf(entered.self), peers: entered.peers.map(peerOf), reconnect: { token: entered.token!, graceSeconds: config.rooms.reconnectGrace } }
      }),
    )

    socket.on(
      'room:leave',
      handle('room:leave', async () => {
        await leave(socket, 'room')
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
        await leave(socket, 'nearby')
        const entered = await orRecover(() => service.joinNearby(network, seatFor(input), input.token))
        adoptPeerId(socket, entered.self.peerId)
        await enter(socket, 'nearby', entered, input.resumable === true)
        return { nearby: { id: entered.room.id, capacity: entered.room.capacity }, self: peerOf(entered.self), peers: entered.peers.map(peerOf), ...reconnectOf(entered) }
      }),
    )

    socket.on(
      'nearby:leave',
      handle('nearby:leave', async () => {
        await leave(socket, 'nearby')
        return {}
      }),
    )

    /** The room or nearby group `to` shares with this socket, or a `forbidden` error. */
    async function sharedWith(to: string): Promise<string> {
      const mine = memberships(socket.data).map((m) => m.roomId)
      if (mine.length === 0) throw new AppError('forbidden', 'Join a room first.')
      const local = locals.get(to)
      // On this instance: decided from the sockets themselves, without a round trip to Redis.
      const shared = local && local !== socket ? mine.find((id) => memberships(local.data).some((m) => m.roomId === id)) : undefined
      const found = shared ?? (await service.sharedRoom(mine, socket.data.peerId, to))
      if (found) return found
      if (!(await cluster.recoverIfLost())) throw new AppError('forbidden', 'That peer is not in your room.')
      const afterRestore = await service.sharedRoom(mine, socket.data.peerId, to)
      if (!afterRestore) throw restoring()
      return afterRestore
    }

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
      handle('relay:open', async ({ to, bytes }) => {
        if (!(await deps.settings.policy()).p2pRelay) throw new AppError('relay_disabled', 'The server relay is switched off here: the devices need a direct connection (or a TURN server, which the admin can set up).')
        const roomId = await sharedWith(to)
        if (bytes > config.relay.maxBytes) throw new AppError('too_large', `The server relays at most ${config.relay.maxBytes} bytes per channel.`)
        const target = await store.member(roomId, to)
        if (!target || target.away) throw new AppError('conflict', 'That device is reconnecting; try again when it is back.')
        const key = `ip:${caller().ip}`
        if (bytes > 0) await deps.limits.consume('relayQuota', key, bytes)
        let opened: { id: string }
        try {
          opened = relay.open(endpointOf(socket), { peerId: to, roomId, instance: target.instance }, bytes)
        } catch (err) {
          if (bytes > 0) await deps.limits.refund('relayQuota', key, bytes)
          throw err
        }
        if (bytes > 0) reserved.set(opened.id, { key, bytes })
        socket.data.relays = relay.openedBy(socket.id)
        return { relay: { id: opened.id, chunkBytes: relayRules.chunkBytes, window: relayRules.window } }
      }),
    )

    // The hot path: no event budget (the window bounds it), parsed and forwarded synchronously so
    // that messages keep their order. Refused messages count against the budget like any event.
    socket.on('relay:data', (payload: unknown, ack?: unknown) => {
      const reply = (res: Ack) => {
        if (typeof ack === 'function') (ack as (r: Ack) => void)(res)
      }
      const refuse = (code: 'invalid_input' | 'relay_closed', message: string) => {
        reply({ ok: false, error: { code, message } })
        if (budget.take() === 'disconnect') socket.disconnect(true)
      }
      const parsed = RelayData.safeParse(payload)
      if (!parsed.success) return refuse('invalid_input', parsed.error.issues[0]?.message ?? 'invalid relay message')
      const { id, data } = parsed.data
      const message = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data : data instanceof ArrayBuffer ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      relay.data(endpointOf(socket), id, message, (err) => (err ? refuse('relay_closed', err.message) : reply({ ok: true })))
    })

    socket.on(
      'relay:close',
      handle('relay:close', async ({ id }) => {
        if (!relay.close(endpointOf(socket), id)) throw new AppError('relay_closed', 'This relay channel is closed.')
        return {}
      }),
    )

    const statsRoom = () => (socket.data.room ?? socket.data.nearby)?.roomId ?? null

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

    socket.on('disconnect', (reason) => {
      if (locals.get(socket.data.peerId) === socket) locals.delete(socket.data.peerId)
      // Relay channels end with their socket, resumed or not: a resumed transfer opens new ones.
      relay.drop(socket.id)
      endpoints.delete(socket.id)
      // A page that left on purpose (or a socket cut off for flooding) does not come back.
      const deliberate = reason === 'client namespace disconnect' || reason === 'server namespace disconnect'
      // socket.data is not changed here: connection state recovery restores it as it is now.
      for (const m of memberships(socket.data)) {
        dropped(socket, m, deliberate).catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'rooms: could not record a departure'))
      }
    })
  })

  return {
    service,
    store,
    cluster,
    instance,
    /** This instance's open P2P rooms and nearby groups (metrics). */
    localRooms: () => [...nsp.adapter.rooms.keys()].filter((r) => r.startsWith('room:')).length,
    relay,
    stop() {
      relay.stop()
      void bus?.close()
      cluster.stop()
      for (const timer of held.values()) clearTimeout(timer)
      held.clear()
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

export type { RoomRecord }
