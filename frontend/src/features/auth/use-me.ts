import type { Me } from '@sharesync/protocol'
import { useEffect, useSyncExternalStore } from 'react'
import { authApi } from './auth-api'

/**
 * Who is signed in, shared by every component of the page (header menu, My shares): one
 * GET /api/me per page load, refreshed after sign-out.
 */
type State = { status: 'loading' } | { status: 'ready'; me: Me | null } | { status: 'error' }

let state: State = { status: 'loading' }
let inflight: Promise<void> | null = null
const listeners = new Set<() => void>()

function set(next: State) {
  state = next
  for (const l of listeners) l()
}

export function refreshMe(): Promise<void> {
  inflight ??= authApi.me().then(
    (me) => set({ status: 'ready', me }),
    () => set({ status: 'error' }),
  ).finally(() => {
    inflight = null
  })
  return inflight
}

export function setSignedOut(): void {
  set({ status: 'ready', me: null })
}

export function useMe(): State {
  const current = useSyncExternalStore(
    (l) => {
      listeners.add(l)
      return () => listeners.delete(l)
    },
    () => state,
  )
  useEffect(() => {
    if (state.status === 'loading') void refreshMe()
  }, [])
  return current
}
