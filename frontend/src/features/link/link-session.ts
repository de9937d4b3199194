import { safeStorage } from '../../lib/features'
import { RoomSession, type SessionOptions } from '../p2p/engine/room-session'
import type { ForcedSink } from '../p2p/engine/sinks'
import { LinkSignaling, type LinkRole } from './link-signaling'

/** The same diagnostics switches as the room page (where received files go, a slow sender or disk). */
const SINK_KEY = 'sharesync.p2p.sink'
const SEND_RATE_KEY = 'sharesync.p2p.sendRate'
const SINK_RATE_KEY = 'sharesync.p2p.sinkRate'

function switches(): Pick<SessionOptions, 'forceSink' | 'sendBytesPerSecond' | 'sinkBytesPerSecond'> {
  const v = safeStorage.get(SINK_KEY)
  const forceSink: ForcedSink | undefined = v === 'opfs' || v === 'download' || v === 'blob' ? v : undefined
  const rate = (key: string) => {
    const n = Number(safeStorage.get(key) ?? 0)
    return Number.isFinite(n) && n > 0 ? n : 0
  }
  return { forceSink, sendBytesPerSecond: rate(SEND_RATE_KEY), sinkBytesPerSecond: rate(SINK_RATE_KEY) }
}

/**
 * A P2P session seated in a share's link room: the room engine as it is (peer links, relay,
 * transfers), with the link signaling. The room target is a placeholder — the link signaling seats
 * the page by the share, not by a room code or secret.
 */
export function linkSession(role: LinkRole, baseUrl?: string): { session: RoomSession; signaling: LinkSignaling } {
  const signaling = new LinkSignaling(role, baseUrl)
  const session = new RoomSession({ secret: '' }, { ...switches(), baseUrl, signaling })
  return { session, signaling }
}
