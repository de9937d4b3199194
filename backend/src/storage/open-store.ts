import type { Config } from '../config'
import type { BlobStore } from './blob-store'
import { DiskStore } from './disk-store'

/** The store config.storage names: files under DATA_DIR/blobs, or an S3-compatible bucket. */
export async function openStore(config: Config): Promise<BlobStore> {
  if (config.storage.kind === 'disk') {
    return DiskStore.open({ dir: config.storage.dir, secret: config.sessionSecret, publicUrl: config.publicUrl, tempMaxIdleMs: config.uploads.tempMaxIdleSeconds * 1000 })
  }
  const { S3Store } = await import('./s3-store')
  return new S3Store(config.storage)
}
