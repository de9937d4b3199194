import { useEffect, useState, useSyncExternalStore } from 'react'
import { RoomSession, type JoinTarget, type SessionView } from './engine/room-session'
import type { ForcedSink } from './engine/sinks'

const IDLE: SessionView = { phase: 'connecting', room: null, self: null, peers: [], transfers: [], error: null, serverConnected: false }
const noop = () => () => undefined

/** One RoomSession for the life of the component (left on unmount), and its live snapshot. */
export function useRoomSession(target: JoinTarget | null, name: string, forceSink?: ForcedSink): { session: RoomSession | null; view: SessionView } {
  const [session, setSession] = useState<RoomSession | null>(null)
  const key = target ? JSON.stringify(target) : null
  useEffect(() => {
    if (!key) return
    const s = new RoomSession(JSON.parse(key) as JoinTarget, { name, forceSink })
    setSession(s)
    return () => {
      s.leave()
      setSession(null)
    }
    // The name and sink are read once when entering (changing them mid-session is not supported).
  }, [key])
  const view = useSyncExternalStore(session?.subscribe ?? noop, session?.getSnapshot ?? (() => IDLE))
  return { session, view }
}
