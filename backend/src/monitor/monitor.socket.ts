import { requireUserSocket } from '../auth/socket-auth'
import { ADMINS_ROOM, type MonitorServerToClient, type MonitoredDownload } from '@sharesync/protocol'
import type { Namespace } from 'socket.io'
import type { Deps } from '../deps'
import type { DownloadMonitor } from './download-monitor'

/** Between instances (Socket.IO adapter): "end this download if it runs on you". */
export interface MonitorInterServer {
  'downloads:stop': (id: string, ack: (stopped: boolean) => void) => void
}
export type MonitorNamespace = Namespace<Record<string, never>, MonitorServerToClient, MonitorInterServer>
export type AccountNamespace = Namespace<Record<string, never>, MonitorServerToClient, Record<string, never>, { userId: string }>

const userRoom = (userId: string) => `user:${userId}`

type WithOwner = MonitoredDownload & { ownerUserId: string | null }
const publicView = ({ ownerUserId: _owner, ...d }: WithOwner): MonitoredDownload => d

/**
 * The monitor's live feed. Each instance reports its own downloads: to every admin dashboard on the
 * `/admin` namespace and to each owner on `/account`, cluster-wide through the Socket.IO adapter
 * (Redis). Stop reaches the instance that serves the download the same way (serverSideEmit).
 */
export function registerMonitorFeed(
  admin: MonitorNamespace,
  account: AccountNamespace,
  deps: Pick<Deps, 'redis' | 'logger' | 'db' | 'events'> & { monitor: DownloadMonitor },
) {
  const { monitor } = deps

  // The owner's session (re-checked now), or an API token with the read scope.
  account.use(requireUserSocket(deps, 'read', 'Sign in to follow your downloads.'))
  account.on('connection', (socket) => {
    void socket.join(userRoom(socket.data.userId))
  })

  const byOwner = (list: WithOwner[]) => {
    const owners = new Map<string, MonitoredDownload[]>()
    for (const d of list) if (d.ownerUserId) owners.set(d.ownerUserId, [...(owners.get(d.ownerUserId) ?? []), publicView(d)])
    return owners
  }
  const offProgress = monitor.on('progress', (list) => {
    admin.to(ADMINS_ROOM).emit('downloads:progress', list.map(publicView))
    for (const [owner, own] of byOwner(list)) account.to(userRoom(owner)).emit('downloads:progress', own)
  })
  const offEnded = monitor.on('ended', (d) => {
    admin.to(ADMINS_ROOM).emit('downloads:ended', publicView(d))
    if (d.ownerUserId) account.to(userRoom(d.ownerUserId)).emit('downloads:ended', publicView(d))
  })

  // Another instance asks: end it if it is ours.
  admin.on('downloads:stop', (id, ack) => ack(monitor.stop(id)))

  return {
    /** Ends a download wherever it runs; false when no instance is serving it. */
    async stop(id: string): Promise<boolean> {
      if (monitor.stop(id)) return true
      // The in-memory adapter has no other instances to ask.
      if (!deps.redis) return false
      try {
        const answers = await admin.serverSideEmitWithAck('downloads:stop', id)
        return answers.some(Boolean)
      } catch (err) {
        deps.logger.warn({ err }, 'download monitor: stop did not reach every instance')
        return false
      }
    },
    close() {
      offProgress()
      offEnded()
    },
  }
}
