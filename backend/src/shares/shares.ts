import type { Deps } from '../deps'
import { Admission } from './admission'
import { ShareDeletion } from './deletion.service'
import { DownloadService, type LibrarySigner } from './download.service'
import { PasswordGate } from './password-gate'
import { StreamSlots } from './stream-slots'
import { StreamUploadService } from './stream-upload.service'
import { UploadService } from './upload.service'

/** The cloud-link use cases, each with the narrow dependencies it uses. Built once at the composition root. */
export interface Shares {
  uploads: UploadService
  streamUploads: StreamUploadService
  /** This instance's cap on concurrent curl uploads (one per instance, shared by both curl routes). */
  streamSlots: StreamSlots
  downloads: DownloadService
  deletion: ShareDeletion
}

export function createShares(deps: Deps, library?: LibrarySigner): Shares {
  const admission = new Admission(deps)
  return {
    uploads: new UploadService(deps, admission),
    streamUploads: new StreamUploadService(deps, admission),
    streamSlots: new StreamSlots(deps.config.uploads.streamConcurrency, deps.config.uploads.streamQueueWaitSeconds * 1000),
    downloads: new DownloadService(deps, new PasswordGate(deps), library),
    deletion: new ShareDeletion(deps),
  }
}
