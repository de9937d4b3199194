import type { PublicConfig, UserLimits } from '@sharesync/protocol'
import { useEffect, useState } from 'react'
import { api } from '../../lib/api'

/** The limits that apply to this visitor: the signed-in ones when /api/me knows them, else anonymous. */
export function useViewerLimits(config: PublicConfig | null): UserLimits | null {
  const signedIn = useSignedIn()
  if (!config) return null
  return signedIn ? config.limits.user : config.limits.anonymous
}

/** Whether the admin's policy requires this visitor's links to have a password. */
export function usePasswordRequired(config: PublicConfig | null): boolean {
  const signedIn = useSignedIn()
  return !signedIn && config?.passwordRequired.anonymous === true
}

function useSignedIn(): boolean {
  const [signedIn, setSignedIn] = useState(false)
  useEffect(() => {
    let live = true
    api<{ id: string }>('/api/me').then(
      (me) => live && setSignedIn(Boolean(me?.id)),
      () => live && setSignedIn(false),
    )
    return () => {
      live = false
    }
  }, [])
  return signedIn
}
