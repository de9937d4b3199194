import { useEffect, useState, useSyncExternalStore } from 'react'
import { useLatest } from '../../lib/use-latest'
import { LinkHost, type HostedFile, type HostView } from './link-host'
import { LinkReceiver, type ReceiverView } from './link-receiver'
import type { CloudCopy } from './path-machine'

const IDLE_HOST: HostView = { hosting: false, error: null, recipients: 0, receipts: [] }
const noop = () => () => undefined

/** The result page hosts its link while it is open (null `files`: this page has not got them). */
export function useLinkHost(shareId: string, ownerToken: string | undefined, files: HostedFile[] | null): HostView {
  const [host, setHost] = useState<LinkHost | null>(null)
  // The files of a link never change: a new array of the same files must not restart the host.
  const latest = useLatest(files)
  const has = files !== null
  useEffect(() => {
    if (!has || !latest.current) return
    const h = new LinkHost(shareId, ownerToken, latest.current)
    setHost(h)
    return () => {
      h.stop()
      setHost(null)
    }
  }, [shareId, ownerToken, has])
  return useSyncExternalStore(host?.subscribe ?? noop, host?.getSnapshot ?? (() => IDLE_HOST))
}

type DirectState = { cloud: CloudCopy; online: boolean }
/** While the page waits for the cloud copy (or the sender), the share's metadata is asked again this often. */
const POLL_MS = 3000

/**
 * The share page of a `direct` share follows its hosts (null `direct`: not such a share, or still
 * locked); `poll` asks the share's metadata again, while the page waits for the copy or the sender.
 */
export function useLinkReceiver(
  shareId: string,
  password: string | undefined,
  direct: DirectState | null,
  poll: () => Promise<DirectState | undefined>,
): { receiver: LinkReceiver | null; view: ReceiverView | null } {
  const [receiver, setReceiver] = useState<LinkReceiver | null>(null)
  // Later metadata goes to the receiver (below), not into a new one.
  const latest = useLatest(direct)
  const on = direct !== null
  useEffect(() => {
    const d = latest.current
    if (!on || !d) return
    const r = new LinkReceiver(shareId, password, d.cloud, d.online)
    setReceiver(r)
    return () => {
      r.stop()
      setReceiver(null)
    }
  }, [shareId, password, on])
  const cloud = direct?.cloud
  const online = direct?.online
  useEffect(() => {
    if (receiver && cloud !== undefined && online !== undefined) receiver.metadata(cloud, online)
  }, [receiver, cloud, online])
  const view = useSyncExternalStore(receiver?.subscribe ?? noop, receiver?.getSnapshot ?? (() => null))
  const path = view?.path
  const asker = useLatest(poll)
  useEffect(() => {
    if (!receiver || (path !== 'waiting' && path !== 'offline')) return
    const timer = setInterval(() => {
      asker.current().then(
        (d) => d && receiver.metadata(d.cloud, d.online),
        () => undefined,
      )
    }, POLL_MS)
    return () => clearInterval(timer)
  }, [receiver, path])
  return { receiver, view }
}
