import { ADMINS_ROOM, type AdminClientToServer, type AdminEvent, type AdminServerToClient, type LiveFigures } from '@sharesync/protocol'
import type { Namespace } from 'socket.io'
import { requireAdminSocket } from '../auth/socket-auth'
import type { Deps } from '../deps'
import { roomsLiveStats } from '../rooms/live-stats'
import type { RoomsNamespace } from '../rooms/rooms.socket'

export interface AdminSocketData {
  userId: string
}
export type AdminNamespace = Namespace<AdminClientToServer, AdminServerToClient, Record<string, never>, AdminSocketData>

export interface AdminFeedOptions {
  /** how often open dashboards receive live figures */
  intervalMs?: number
}

/**
 * The `/admin` namespace: only a signed-in admin is accepted, with the session and the role read
 * from the database when the namespace is opened (realtime.ts closes every connection of a user whose
 * access changes). Admin sockets join `admins`; events are broadcast to that room (every instance's
 * dashboards, with the Redis adapter), live figures are pushed by each instance to its own
 * dashboards every few seconds.
 */
export function registerAdminFeed(nsp: AdminNamespace, rooms: RoomsNamespace, deps: Deps, opts: AdminFeedOptions = {}) {
  const intervalMs = opts.intervalMs ?? 5000

  nsp.use(requireAdminSocket(deps))

  /** Cluster-wide: fetchSockets asks every instance when the Redis adapter is on. */
  async function live(): Promise<LiveFigures> {
    // An instance that does not answer in time leaves its dashboards out rather than stall the figures.
    const dashboardSockets = nsp.in(ADMINS_ROOM).fetchSockets().catch(() => nsp.local.in(ADMINS_ROOM).fetchSockets())
    const [roomStats, dashboards] = await Promise.all([roomsLiveStats(rooms, deps.logger), dashboardSockets])
    return { ...roomStats, sockets: roomStats.sockets + dashboards.length, dashboards: dashboards.length, at: new Date().toISOString() }
  }

  const push = () => {
    if (nsp.sockets.size === 0) return
    live().then(
      (figures) => nsp.local.to(ADMINS_ROOM).emit('admin:live', figures),
      (err: unknown) => deps.logger.warn({ err }, 'admin feed: live figures failed'),
    )
  }
  const timer = setInterval(push, intervalMs)
  timer.unref()

  nsp.on('connection', (socket) => {
    void socket.join(ADMINS_ROOM)
    live().then(
      (figures) => socket.emit('admin:live', figures),
      (err: unknown) => deps.logger.warn({ err }, 'admin feed: live figures failed'),
    )
  })

  // Without Redis the only dashboards are this instance's own: with none open, an event (one per
  // download, at load) is not even built for nobody. With Redis, other instances' dashboards listen.
  const broadcast = (event: () => AdminEvent) => {
    if (!deps.redis && nsp.sockets.size === 0) return
    nsp.to(ADMINS_ROOM).emit('admin:event', event())
  }
  const at = () => new Date().toISOString()
  const { events } = deps
  // Rate-limit refusals are left to the metrics; the owner's id of a new share stays on the server.
  const unsubscribe = [
    events.on('shareCreated', ({ shareId, bytes, files, anonymous }) =>
      broadcast(() => ({ type: 'shareCreated', at: at(), shareId, bytes, files, anonymous })),
    ),
    events.on('shareDownloaded', (p) => broadcast(() => ({ type: 'shareDownloaded', at: at(), ...p }))),
    events.on('shareDeleted', (p) => broadcast(() => ({ type: 'shareDeleted', at: at(), ...p }))),
    events.on('roomOpened', (p) => broadcast(() => ({ type: 'roomOpened', at: at(), ...p }))),
    events.on('roomClosed', (p) => broadcast(() => ({ type: 'roomClosed', at: at(), ...p }))),
    events.on('transferFinished', (p) => broadcast(() => ({ type: 'transferFinished', at: at(), ...p }))),
    // A pass that deleted nothing is not news (it runs every few minutes on every instance).
    events.on('janitorRun', (p) => {
      if (p.deleted > 0) broadcast(() => ({ type: 'janitorRun', at: at(), ...p }))
    }),
    events.on('auditLogged', ({ entry }) => broadcast(() => ({ type: 'audit', at: entry.at, entry }))),
  ]

  return {
    live,
    stop() {
      clearInterval(timer)
      for (const off of unsubscribe) off()
    },
  }
}
