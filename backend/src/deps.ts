import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Config } from './config'
import type { Db } from './db/db'
import type { AppEventBus } from './events'
import type { Limits } from './limits/limits'
import type { DownloadMonitor } from './monitor/download-monitor'
import type { DownloadEvents } from './shares/download-events'
import type { SettingsService } from './settings/settings.service'
import type { BlobStore } from './storage/blob-store'

/** What a feature is built from. Tests build these from real parts (PGlite/Postgres, disk/S3, Redis). */
export interface Deps {
  config: Config
  logger: Logger
  db: Db
  store: BlobStore
  limits: Limits
  redis: Redis | null
  /** what happened (share created, downloaded, …): the admin feed and the metrics listen */
  events: AppEventBus
  /** the admin's run-time settings (upload policy), read live */
  settings: SettingsService
  /** watches every download the app streams itself (progress, stalls, Stop, history) */
  monitor: DownloadMonitor
  /** download events of unlimited shares, written in batches: readers of the counts flush it first */
  downloadEvents: DownloadEvents
}
