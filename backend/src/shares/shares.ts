import type { Deps } from '../deps'
import { Admission } from './admission'
import { ShareDeletion } from './deletion.service'
import { DownloadService, type LibrarySigner } from './download.service'
import { PasswordGate } from './password-gate'
import { PreviewService } from './preview.service'
import { StreamSlots } from './stream-slots'
import { StreamUploadService } from './stream-upload.service'
import { TextService } from './text.service'
import { UploadService } from './upload.service'
import { ZipService } from './zip.service'

/** The cloud-link use cases, each with the narrow dependencies it uses. Built once at the composition root. */
export interface Shares {
  uploads: UploadService
  streamUploads: StreamUploadService
  /** This instance's cap on concurrent curl uploads (one per instance, shared by both curl routes). */
  streamSlots: StreamSlots
  downloads: DownloadService
  /** "Download all": the share as one streamed zip */
  zips: ZipService
  previews: PreviewService
  texts: TextService
  deletion: ShareDeletion
  admission: Admission
}

/** `linkOnline`: whether a `direct` share's owner page is hosting its link room now (the rooms namespace knows). */
export function createShares(deps: Deps, library?: LibrarySigner, linkOnline?: (shareId: string) => Promise<boolean>): Shares {
  const admission = new Admission(deps)
  const passwords = new PasswordGate(deps)
  const downloads = new DownloadService(deps, passwords, library, linkOnline)
  return {
    uploads: new UploadService(deps, admission),
    streamUploads: new StreamUploadService(deps, admission),
    streamSlots: new StreamSlots(deps.config.uploads.streamConcurrency, deps.config.uploads.streamQueueWaitSeconds * 1000),
    downloads,
    zips: new ZipService(deps, passwords, downloads),
    previews: new PreviewService(deps, passwords, downloads),
    texts: new TextService(deps, admission, passwords),
    deletion: new ShareDeletion(deps),
    admission,
  }
}
