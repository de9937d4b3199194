import { ADMIN_NAMESPACE, type AdminEvent, type AdminServerToClient, type LiveFigures } from '@sharesync/protocol'
import { useEffect, useRef, useState } from 'react'
import { io, type Socket } from 'socket.io-client'

const MAX_EVENTS = 30

export interface AdminFeed {
  connected: boolean
  live: LiveFigures | null
  /** newest first */
  events: AdminEvent[]
}

/**
 * The `/admin` Socket.IO feed: live figures every few seconds and events as they happen. The
 * session cookie authenticates the handshake; a non-admin is refused by the server.
 * `onEvent` lets the page refresh its figures when something happened.
 */
export function useAdminFeed(onEvent?: (event: AdminEvent) => void): AdminFeed {
  const [connected, setConnected] = useState(false)
  const [live, setLive] = useState<LiveFigures | null>(null)
  const [events, setEvents] = useState<AdminEvent[]>([])
  // The latest callback, without reconnecting the socket when it changes.
  const handler = useRef(onEvent)
  handler.current = onEvent

  useEffect(() => {
    const socket: Socket<AdminServerToClient, Record<string, never>> = io(ADMIN_NAMESPACE, { transports: ['websocket', 'polling'] })
    socket.on('connect', () => setConnected(true))
    socket.on('disconnect', () => setConnected(false))
    socket.on('admin:live', setLive)
    socket.on('admin:event', (event) => {
      setEvents((list) => [event, ...list].slice(0, MAX_EVENTS))
      handler.current?.(event)
    })
    return () => {
      socket.close()
    }
  }, [])

  return { connected, live, events }
}
