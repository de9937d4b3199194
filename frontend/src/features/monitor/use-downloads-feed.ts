import { ADMIN_NAMESPACE, ACCOUNT_NAMESPACE, type MonitoredDownload, type MonitorServerToClient } from '@sharesync/protocol'
import { useEffect, useRef, useState } from 'react'
import { io, type Socket } from 'socket.io-client'

/** Downloads not heard of for this long are dropped (their instance went away). */
const FORGET_MS = 15_000

/**
 * Live downloads from the monitor's Socket.IO feed: `/admin` (every download, admins) or `/account`
 * (the signed-in owner's shares). Each instance reports its own downloads about once a second; they
 * are merged by id. `initial` seeds the list (the REST answer) until the first report arrives.
 */
export function useDownloadsFeed(scope: 'admin' | 'account', initial: MonitoredDownload[], onEnded?: (d: MonitoredDownload) => void) {
  const [active, setActive] = useState<Map<string, { d: MonitoredDownload; at: number }>>(new Map())
  const handler = useRef(onEnded)
  handler.current = onEnded

  useEffect(() => {
    setActive((current) => {
      const next = new Map(current)
      for (const d of initial) if (!next.has(d.id)) next.set(d.id, { d, at: Date.now() })
      return next
    })
  }, [initial])

  useEffect(() => {
    const socket: Socket<MonitorServerToClient, Record<string, never>> = io(scope === 'admin' ? ADMIN_NAMESPACE : ACCOUNT_NAMESPACE, {
      transports: ['websocket', 'polling'],
    })
    socket.on('downloads:progress', (list) => {
      const now = Date.now()
      setActive((current) => {
        const next = new Map(current)
        for (const d of list) next.set(d.id, { d, at: now })
        for (const [id, v] of next) if (now - v.at > FORGET_MS) next.delete(id)
        return next
      })
    })
    socket.on('downloads:ended', (d) => {
      setActive((current) => {
        const next = new Map(current)
        next.delete(d.id)
        return next
      })
      handler.current?.(d)
    })
    return () => {
      socket.close()
    }
  }, [scope])

  return [...active.values()].map((v) => v.d).sort((a, b) => a.startedAt.localeCompare(b.startedAt))
}
