import type { PublicConfig } from '@sharesync/protocol'
import { useEffect, useState } from 'react'
import { api } from './api'

let cached: Promise<PublicConfig> | null = null

/** GET /api/config once per page load (limits, defaults, expiry choices, sign-in providers). */
export function loadPublicConfig(): Promise<PublicConfig> {
  cached ??= api<PublicConfig>('/api/config').catch((err: unknown) => {
    cached = null
    throw err
  })
  return cached
}

export function usePublicConfig(): { config: PublicConfig | null; error: unknown } {
  const [config, setConfig] = useState<PublicConfig | null>(null)
  const [error, setError] = useState<unknown>(null)
  useEffect(() => {
    let live = true
    loadPublicConfig().then(
      (c) => live && setConfig(c),
      (e: unknown) => live && setError(e),
    )
    return () => {
      live = false
    }
  }, [])
  return { config, error }
}
