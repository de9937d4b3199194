import { useEffect, useState, useSyncExternalStore } from 'react'
import { initialRoom } from './engine/room-machine'
import { RoomSession, type JoinTarget, type SessionOptions, type SessionView } from './engine/room-session'

const IDLE: SessionView = { ...initialRoom, transfers: [] }
const noop = () => () => undefined

/** One RoomSession for the life of the component (left on unmount), and its live snapshot. */
export function useRoomSession(target: JoinTarget | null, opts: SessionOptions): { session: RoomSession | null; view: SessionView } {
  const [session, setSession] = useState<RoomSession | null>(null)
  const key = target ? JSON.stringify(target) : null
  useEffect(() => {
    if (!key) return
    const s = new RoomSession(JSON.parse(key) as JoinTarget, opts)
    setSession(s)
    return () => {
      s.leave()
      setSession(null)
    }
    // The options are read once when entering (changing them mid-session is not supported).
  }, [key])
  const view = useSyncExternalStore(session?.subscribe ?? noop, session?.getSnapshot ?? (() => IDLE))
  return { session, view }
}
