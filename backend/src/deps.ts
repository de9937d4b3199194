import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Config } from './config'
import type { Db } from './db/db'
import type { Limits } from './limits/limits'
import type { BlobStore } from './storage/blob-store'

/** What a feature is built from. Tests build these from real parts (PGlite/Postgres, disk/S3, Redis). */
export interface Deps {
  config: Config
  logger: Logger
  db: Db
  store: BlobStore
  limits: Limits
  redis: Redis | null
}
