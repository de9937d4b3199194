import type { AudienceRulesView, PublicConfig, UserLimits } from '@sharesync/protocol'
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
  return useShareRules(config)?.passwordRequired === true
}

/** The admin's share rules for this visitor's audience: anonymous, signed-in, or admin. */
export function useShareRules(config: PublicConfig | null): AudienceRulesView | null {
  const me = useMe()
  if (!config) return null
  return config.shareRules[me?.role === 'admin' ? 'admin' : me ? 'user' : 'anonymous']
}

function useSignedIn(): boolean {
  return useMe() !== null
}

function useMe(): { id: string; role?: string } | null {
  const [me, setMe] = useState<{ id: string; role?: string } | null>(null)
  useEffect(() => {
    let live = true
    api<{ id: string; role?: string }>('/api/me').then(
      (found) => live && setMe(found?.id ? found : null),
      () => live && setMe(null),
    )
    return () => {
      live = false
    }
  }, [])
  return me
}

/** The download (or view) limits to offer: the admin's presets (and "unlimited" when allowed), else the usual ones. */
export function allowedDownloadChoices(rules: AudienceRulesView | null, usual: readonly string[]): string[] {
  const limited = rules?.downloadPresets?.map(String) ?? usual.filter((c) => c !== 'unlimited')
  return rules?.unlimitedDownloads === false ? limited : ['unlimited', ...limited]
}

/** Whether the admin's rules narrow this visitor's expiry or download choices (the page says so). */
export function presetsRestricted(rules: AudienceRulesView | null): boolean {
  return Boolean(rules?.expiryPresets || rules?.downloadPresets || rules?.unlimitedDownloads === false)
}
