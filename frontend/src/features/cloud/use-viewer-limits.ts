import type { PublicConfig, UserLimits } from '@sharesync/protocol'
import { useEffect, useState } from 'react'
import { api } from '../../lib/api'

/** The limits that apply to this visitor: the signed-in ones when /api/me knows them, else anonymous. */
export function useViewerLimits(config: PublicConfig | null): UserLimits | null {
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
  if (!config) return null
  return signedIn ? config.limits.user : config.limits.anonymous
}
