import { useEffect, useState, useSyncExternalStore } from 'react'
import { RoomSession, type JoinTarget, type SessionView } from './engine/room-session'

const IDLE: SessionView = { phase: 'connecting', room: null, self: null, peers: [], transfers: [], error: null, serverConnected: false }
const noop = () => () => undefined

/** One RoomSession for the life of the component (left on unmount), and its live snapshot. */
export function useRoomSession(target: JoinTarget | null, name: string): { session: RoomSession | null; view: SessionView } {
  const [session, setSession] = useState<RoomSession | null>(null)
  const key = target ? JSON.stringify(target) : null
  useEffect(() => {
    if (!key) return
    const s = new RoomSession(JSON.parse(key) as JoinTarget, { name })
    setSession(s)
    return () => {
      s.leave()
      setSession(null)
    }
    // The name is read once when entering (renaming mid-session is not supported), so it is not a dependency.
  }, [key])
  const view = useSyncExternalStore(session?.subscribe ?? noop, session?.getSnapshot ?? (() => IDLE))
  return { session, view }
}
