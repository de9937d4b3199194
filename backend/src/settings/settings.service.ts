import { AdminSettings, OPEN_SHARE_RULES, type SettingsResponse } from '@sharesync/protocol'
import type { Logger } from 'pino'
import type { Config } from '../config'
import type { Db } from '../db/db'
import { settingsRepo } from '../db/settings.repo'

/** The upload policy in force: the admin's saved settings over the environment's defaults. */
export type Policy = AdminSettings

/**
 * A saved change must reach every instance within about a second, without a restart: each process
 * re-reads the one settings row at most once per CACHE_MS (a primary-key lookup), and the instance
 * that saved a change forgets its copy at once, so the admin's next request already sees it.
 */
const CACHE_MS = 1000

export class SettingsService {
  private cached: { at: number; value: Promise<SettingsResponse> } | null = null
  readonly defaults: Policy

  constructor(
    private readonly db: Db,
    config: Config,
    private readonly logger?: Logger,
    private readonly cacheMs = CACHE_MS,
  ) {
    this.defaults = defaultsFrom(config)
  }

  /** The policy for this request (allowAnonymousUploads, per-role limits, upload rate). */
  async policy(): Promise<Policy> {
    return (await this.read()).settings
  }

  read(): Promise<SettingsResponse> {
    const now = Date.now()
    if (this.cached && now - this.cached.at < this.cacheMs) return this.cached.value
    const value = this.load()
    this.cached = { at: now, value }
    // A failed read is not cached: the next request tries the database again.
    value.catch(() => {
      if (this.cached?.value === value) this.cached = null
    })
    return value
  }

  async save(settings: AdminSettings, updatedBy: string): Promise<SettingsResponse> {
    const row = await settingsRepo.save(this.db, settings, updatedBy)
    this.cached = null
    return {
      settings: clamp(settings),
      defaults: this.defaults,
      updatedAt: new Date(row.updated_at).toISOString(),
      updatedBy: row.updated_by,
    }
  }

  private async load(): Promise<SettingsResponse> {
    const row = await settingsRepo.get(this.db)
    if (!row) return { settings: this.defaults, defaults: this.defaults, updatedAt: null, updatedBy: null }
    const stored = typeof row.data === 'string' ? (JSON.parse(row.data) as unknown) : row.data
    // A row written by an older version may lack newer fields: those keep their defaults.
    const merged = AdminSettings.safeParse(mergeOver(this.defaults, stored))
    if (!merged.success) {
      this.logger?.warn({ issues: merged.error.issues }, 'saved settings are invalid; using the environment defaults')
      return { settings: this.defaults, defaults: this.defaults, updatedAt: null, updatedBy: null }
    }
    return {
      settings: clamp(merged.data),
      defaults: this.defaults,
      updatedAt: new Date(row.updated_at).toISOString(),
      updatedBy: row.updated_by,
    }
  }
}

export function defaultsFrom(config: Config): Policy {
  const p = config.policy
  return {
    allowAnonymousUploads: p.allowAnonymousUploads,
    encryptByDefault: p.encryptByDefault,
    requireEncryption: p.requireEncryption,
    p2pRelay: config.relay.enabled,
    previews: p.previews,
    anonymousPasswordRequired: p.anonymousPasswordRequired,
    shareRules: OPEN_SHARE_RULES,
    defaultExpiry: p.defaultExpiry,
    user: { ...p.user },
    anonymous: { ...p.anonymous },
    uploadRateLimit: { ...config.rateLimits.upload },
  }
}

/** Anonymous visitors never get more than signed-in users (as config.ts does for the environment). */
function clamp(s: Policy): Policy {
  return {
    ...s,
    anonymous: {
      maxFileSize: Math.min(s.anonymous.maxFileSize, s.user.maxFileSize),
      maxExpiry: Math.min(s.anonymous.maxExpiry, s.user.maxExpiry),
      dailyQuota: Math.min(s.anonymous.dailyQuota, s.user.dailyQuota),
    },
  }
}

function mergeOver(base: Policy, stored: unknown): unknown {
  if (!stored || typeof stored !== 'object') return base
  const s = stored as Partial<Record<keyof Policy, unknown>>
  const obj = (v: unknown) => (v && typeof v === 'object' ? v : {})
  return {
    ...base,
    ...s,
    user: { ...base.user, ...obj(s.user) },
    anonymous: { ...base.anonymous, ...obj(s.anonymous) },
    uploadRateLimit: { ...base.uploadRateLimit, ...obj(s.uploadRateLimit) },
  }
}
