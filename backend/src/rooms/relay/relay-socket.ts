import { MAX_RELAY_CHUNK_BYTES, RelayData, type Ack } from '@sharesync/protocol'
import { p2pRepo } from '../../db/p2p.repo'
import type { Deps } from '../../deps'
import { AppError } from '../../http/app-error'
import type { RoomStore } from '../room-store'
import { memberships, type RoomsNamespace, type RoomsSocket } from '../room-sockets'
import { RedisRelayBus } from './relay-bus'
import { RelayHub, type RelayEndpoint, type RelayRules } from './relay-hub'

/**
 * Relay channels: 256 KiB messages, 8 unacknowledged per direction (2 MiB in flight per channel and
 * direction at most), RELAY_STALL_TIMEOUT to acknowledge one; 8 channels per socket, 128 channel ends
 * per instance (so at most ~512 MiB in flight on one instance in the worst case).
 */
export const RELAY_RULES: Omit<RelayRules, 'stallMs'> = { chunkBytes: MAX_RELAY_CHUNK_BYTES, window: 8, maxPerSocket: 8, maxEnds: 128 }

/**
 * Channels one address (IPv6: its network) may have open on an instance, whatever its number of
 * sockets: 16 channels are at most 32 of the instance's 128 ends, so one address cannot take the
 * relay away from everybody else (an idle channel never stalls, it lasts as long as its socket).
 */
export const RELAY_CHANNELS_PER_ADDRESS = 16

export interface RelaySocketDeps {
  nsp: RoomsNamespace
  deps: Pick<Deps, 'config' | 'db' | 'events' | 'limits' | 'logger' | 'redis' | 'settings'>
  store: RoomStore
  instance: string
  /** this instance's sockets by peer id */
  locals: Map<string, RoomsSocket>
  rules?: Partial<RelayRules>
}

/** What a socket's relay handlers need from the room layer. */
export interface RelayCaller {
  /** the room or nearby group this socket shares with `to` (throws `forbidden` otherwise) */
  sharedWith(to: string): Promise<string>
  /** the address the caller's limits count under */
  addressKey(): string
  /** a refused message counts against the socket's event budget */
  strike(): void
}

/**
 * The relay's socket side: the hub (and the Redis bus between instances), the per-address quota
 * (reserved at open, what was not sent given back at close), the statistics, and the three events.
 */
export function createRelaySockets({ nsp, deps, store, instance, locals, rules: overrides }: RelaySocketDeps) {
  const { config, logger } = deps
  const rules: RelayRules = { ...RELAY_RULES, stallMs: config.relay.stallMs, ...overrides }
  const endpoints = new Map<string, RelayEndpoint>()
  const reserved = new Map<string, { key: string; bytes: number }>()
  /** open channels by the opener's address key, and each opened channel's key */
  const byAddress = new Map<string, number>()
  const openerKey = new Map<string, string>()
  const countAddress = (key: string, delta: number) => {
    const n = (byAddress.get(key) ?? 0) + delta
    if (n > 0) byAddress.set(key, n)
    else byAddress.delete(key)
  }
  const stats = p2pRepo(deps.db)
  const bus = deps.redis ? new RedisRelayBus(deps.redis, instance, logger) : null

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
        deliver: (p, done) => socket.timeout(rules.stallMs).emit('relay:data', p, (err: Error | null) => done(err ?? null)),
        closed: (p) => socket.emit('relay:closed', p),
      }
      endpoints.set(socket.id, e)
    }
    return e
  }

  /**
   * The opener's address pays for what the channel carried both ways: the unused part of its
   * reservation is given back; bytes the far end sent beyond it are taken now, as far as the quota
   * still has room (so a channel carries at most twice its reservation uncharged in the worst case).
   */
  const settleQuota = (quota: { key: string; bytes: number }, carried: number) => {
    if (carried < quota.bytes) void deps.limits.refund('relayQuota', quota.key, quota.bytes - carried)
    else if (carried > quota.bytes) deps.limits.consume('relayQuota', quota.key, carried - quota.bytes).catch(() => undefined)
  }

  const hub = new RelayHub({
    instance,
    rules,
    bus,
    local: (peerId, roomId) => {
      const s = locals.get(peerId)
      return s && memberships(s.data).some((m) => m.roomId === roomId) ? endpointOf(s) : undefined
    },
    finished: (f) => {
      const socket = nsp.sockets.get(f.conn)
      if (socket && f.opener) socket.data.relays = hub.openedBy(f.conn)
      const key = f.opener ? openerKey.get(f.id) : undefined
      if (key !== undefined) {
        openerKey.delete(f.id)
        countAddress(key, -1)
      }
      const quota = f.opener ? reserved.get(f.id) : undefined
      if (quota) {
        reserved.delete(f.id)
        settleQuota(quota, f.sent + f.received)
      }
      deps.events.emit('relayFinished', { bytes: f.sent, ms: f.ms, opener: f.opener, reason: f.reason })
      stats.insertRelayEnd({ relayId: f.id, roomId: f.roomId, opener: f.opener, bytes: f.sent, ms: f.ms, reason: f.reason }).catch((err: unknown) => logger.warn({ err }, 'rooms: could not record a relay channel'))
    },
  })

  async function open(socket: RoomsSocket, caller: RelayCaller, to: string, bytes: number) {
    if (!(await deps.settings.policy()).p2pRelay) throw new AppError('relay_disabled', 'The server relay is switched off here: the devices need a direct connection (or a TURN server, which the admin can set up).')
    const roomId = await caller.sharedWith(to)
    if (bytes > config.relay.maxBytes) throw new AppError('too_large', `The server relays at most ${config.relay.maxBytes} bytes per channel.`)
    const target = await store.member(roomId, to)
    if (!target || target.away) throw new AppError('conflict', 'That device is reconnecting; try again when it is back.')
    const key = caller.addressKey()
    if ((byAddress.get(key) ?? 0) >= RELAY_CHANNELS_PER_ADDRESS) throw new AppError('rate_limited', `At most ${RELAY_CHANNELS_PER_ADDRESS} relay channels at once from one address.`)
    // Counted before the quota's round trip, so that concurrent opens cannot all pass the check.
    countAddress(key, 1)
    let opened: { id: string }
    try {
      if (bytes > 0) await deps.limits.consume('relayQuota', key, bytes)
      try {
        // Gone during the round trips: its 'disconnect' already dropped its channels, so none may open now.
        if (socket.disconnected) throw new AppError('relay_closed', 'This connection closed.')
        opened = hub.open(endpointOf(socket), { peerId: to, roomId, instance: target.instance }, bytes)
      } catch (err) {
        if (bytes > 0) await deps.limits.refund('relayQuota', key, bytes)
        throw err
      }
    } catch (err) {
      countAddress(key, -1)
      throw err
    }
    openerKey.set(opened.id, key)
    if (bytes > 0) reserved.set(opened.id, { key, bytes })
    socket.data.relays = hub.openedBy(socket.id)
    return { relay: { id: opened.id, chunkBytes: rules.chunkBytes, window: rules.window } }
  }

  /**
   * The hot path: no event budget (the window bounds it), parsed and forwarded synchronously so that
   * messages keep their order. Refused messages count against the budget like any event.
   */
  function data(socket: RoomsSocket, caller: RelayCaller, payload: unknown, ack: unknown) {
    const reply = (res: Ack) => {
      if (typeof ack === 'function') (ack as (r: Ack) => void)(res)
    }
    const refuse = (code: 'invalid_input' | 'relay_closed', message: string) => {
      reply({ ok: false, error: { code, message } })
      caller.strike()
    }
    const parsed = RelayData.safeParse(payload)
    if (!parsed.success) return refuse('invalid_input', parsed.error.issues[0]?.message ?? 'invalid relay message')
    const { id, data } = parsed.data
    const message = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data : data instanceof ArrayBuffer ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    hub.data(endpointOf(socket), id, message, (err) => (err ? refuse('relay_closed', err.message) : reply({ ok: true })))
  }

  function close(socket: RoomsSocket, id: string) {
    if (!hub.close(endpointOf(socket), id)) throw new AppError('relay_closed', 'This relay channel is closed.')
    return {}
  }

  return {
    hub,
    open,
    data,
    close,
    /** the socket left `roomId` (or, without it, is gone): its channels there end */
    drop(socket: RoomsSocket, roomId?: string) {
      hub.drop(socket.id, roomId)
      if (roomId === undefined) endpoints.delete(socket.id)
    },
    stop() {
      hub.stop()
      void bus?.close()
    },
  }
}

export type RelaySockets = ReturnType<typeof createRelaySockets>
