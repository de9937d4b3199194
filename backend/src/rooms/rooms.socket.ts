import type { IncomingMessage } from 'node:http'
import {
  CreateRoom,
  JoinRoom,
  LeaveRoom,
  SendSignal,
  TransferReport,
  TransferStarted,
  type Ack,
  type ClientToServer,
  type Peer,
  type RoomInfo,
  type ServerToClient,
} from '@sharesync/protocol'
import proxyAddr from 'proxy-addr'
import type { Namespace, Socket } from 'socket.io'
import type { z } from 'zod'
import type { Deps } from '../deps'
import { AppError } from '../http/app-error'
import { addressKey } from '../http/client-address'
import { toAppError } from '../http/error-middleware'
import { deviceName } from './device-name'
import { DEFAULT_EVENT_BUDGET, EventBudget, type EventBudgetRule } from './event-budget'

const STATS_BUDGET: EventBudgetRule = { burst: 20, perSecond: 1, maxStrikes: 50, strikeWindowMs: 60_000 }
import { RedisRoomStore } from './redis-room-store'
import { TransferLedger } from './transfer-ledger'
import { MemoryRoomStore } from './room-store'
import { RoomsService, type Admitted } from './rooms.service'

export type InterServer = Record<string, never>

export interface SocketData {
  peerId: string
  roomId: string | null
  name: string
  device: string
  ip: string
  /** transfers this socket announced and has not reported yet (live admin counter) */
  activeTransfers: number
  /** set by the auth handshake middleware when the person is signed in */
  userId: string | null
}

export type RoomsNamespace = Namespace<ClientToServer, ServerToClient, InterServer, SocketData>
type RoomsSocket = Socket<ClientToServer, ServerToClient, InterServer, SocketData>

export interface RoomsOptions {
  budget?: EventBudgetRule
}

/** Registers the `/rooms` signaling namespace: thin handlers that parse, call the service, ack. */
export function registerRooms(nsp: RoomsNamespace, deps: Deps, opts: RoomsOptions = {}) {
  const { config, logger } = deps
  const store = deps.redis ? new RedisRoomStore(deps.redis) : new MemoryRoomStore()
  // Every socket sits in a room named by its id, on whichever instance: connected peers answer.
  const connected = async (peerIds: string[]) => (peerIds.length ? (await nsp.in(peerIds).fetchSockets()).map((s) => s.id) : [])
  const service = new RoomsService(deps, store, connected)
  const trust = trustValue(config.trustProxy)

  const linkBase = (req: IncomingMessage) => {
    if (config.publicUrl) return config.publicUrl
    const origin = req.headers.origin
    if (origin && origin !== 'null') return origin
    return `http://${req.headers.host ?? 'localhost'}`
  }
  const roomInfo = (socket: RoomsSocket, { room, codeExpiresAt }: Admitted): RoomInfo => ({
    id: room.id,
    code: room.code,
    codeExpiresAt: new Date(codeExpiresAt).toISOString(),
    link: `${linkBase(socket.request)}/r/${room.secret}`,
    secret: room.secret,
    capacity: room.capacity,
  })
  const peerOf = (data: SocketData): Peer => ({ peerId: data.peerId, name: data.name, device: data.device })

  async function leaveCurrent(socket: RoomsSocket) {
    const roomId = socket.data.roomId
    if (!roomId) return
    socket.data.roomId = null
    await socket.leave(roomId)
    nsp.to(roomId).emit('peer:left', { roomId, peerId: socket.data.peerId })
    if ((await service.leave(roomId, socket.data.peerId)).ended) deps.events.emit('roomClosed', { roomId })
  }

  async function enter(socket: RoomsSocket, admitted: Admitted, name: string | undefined) {
    socket.data.roomId = admitted.room.id
    socket.data.name = name ?? socket.data.device
    // Gone while being admitted: its 'disconnect' saw no room yet, so the seat is given back here.
    if (socket.disconnected) return leaveCurrent(socket)
    await socket.join(admitted.room.id)
    socket.to(admitted.room.id).emit('peer:joined', { roomId: admitted.room.id, peer: peerOf(socket.data) })
  }

  nsp.on('connection', (socket) => {
    const budget = new EventBudget(opts.budget ?? DEFAULT_EVENT_BUDGET)
    // Transfer stats write to the database: a much smaller budget than signals.
    const statsBudget = new EventBudget(STATS_BUDGET)
    const transfers = new TransferLedger()
    const device = deviceName(socket.request.headers['user-agent'])
    socket.data = {
      peerId: socket.id,
      roomId: null,
      name: device,
      device,
      ip: proxyAddr(socket.request, trust),
      activeTransfers: 0,
      userId: socket.data?.userId ?? null,
    }
    // Limits count IPv6 clients by network (client-address.ts), so rotating addresses earns no guesses.
    const caller = () => ({ peerId: socket.data.peerId, ip: addressKey(socket.data.ip, config.rateLimits.ipv6Prefix) })

    /** Budget, schema, then the work; every outcome answers the ack (errors never become throws). */
    function handle<S extends z.ZodType, R extends object>(event: string, schema: S, work: (input: z.output<S>) => Promise<R>, extra?: EventBudget) {
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
            const result = await work(schema.parse(payload))
            reply({ ok: true, ...result })
          } catch (err) {
            const appError = toAppError(err)
            if (appError.status >= 500) logger.error({ err, event }, 'rooms: event failed')
            reply({ ok: false, error: { code: appError.code, message: appError.message } })
          }
        })()
      }
    }

    socket.on(
      'room:create',
      handle('room:create', CreateRoom, async (input) => {
        await leaveCurrent(socket)
        const admitted = await service.create(caller())
        deps.events.emit('roomOpened', { roomId: admitted.room.id })
        await enter(socket, admitted, input.name)
        return { room: roomInfo(socket, admitted), self: peerOf(socket.data) }
      }),
    )

    socket.on(
      'room:join',
      handle('room:join', JoinRoom, async (input) => {
        const by = 'code' in input ? { code: input.code } : { secret: input.secret }
        if (socket.data.roomId) await leaveCurrent(socket)
        const admitted = await service.join(caller(), by)
        // Cluster-wide with the Redis adapter: members on other instances are listed too.
        const others = (await nsp.in(admitted.room.id).fetchSockets()).filter((s) => s.id !== socket.id)
        await enter(socket, admitted, input.name)
        return { room: roomInfo(socket, admitted), self: peerOf(socket.data), peers: others.map((s) => peerOf(s.data)) }
      }),
    )

    socket.on(
      'room:leave',
      handle('room:leave', LeaveRoom, async () => {
        await leaveCurrent(socket)
        return {}
      }),
    )

    socket.on(
      'signal',
      handle('signal', SendSignal, async ({ to, data }) => {
        if (!(await service.mayRelay(socket.data.roomId, socket.data.peerId, to))) {
          throw new AppError('forbidden', 'That peer is not in your room.')
        }
        // `from` is always the server's idea of who sent it, never the client's.
        nsp.to(to).emit('signal', { from: socket.data.peerId, data })
        return {}
      }),
    )

    socket.on(
      'transfer:started',
      handle('transfer:started', TransferStarted, async (announced) => {
        if (!socket.data.roomId) throw new AppError('forbidden', 'Join a room first.')
        transfers.start(socket.data.roomId, announced)
        socket.data.activeTransfers = transfers.size
        return {}
      }, statsBudget),
    )

    socket.on(
      'transfer:report',
      handle('transfer:report', TransferReport, async (report) => {
        const roomId = socket.data.roomId
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

    socket.on('disconnect', () => {
      const roomId = socket.data.roomId
      if (!roomId) return
      socket.data.roomId = null
      nsp.to(roomId).emit('peer:left', { roomId, peerId: socket.data.peerId })
      service.leave(roomId, socket.data.peerId).then(
        ({ ended }) => {
          if (ended) deps.events.emit('roomClosed', { roomId })
        },
        (err: unknown) => logger.warn({ err }, 'rooms: could not record a departure'),
      )
    })
  })

  return { service, store }
}

function trustValue(value: boolean | number | string[]): (addr: string, i: number) => boolean {
  if (value === true) return () => true
  if (value === false) return () => false
  if (typeof value === 'number') return (_addr, i) => i < value
  return proxyAddr.compile(value)
}
