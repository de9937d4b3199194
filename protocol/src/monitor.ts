import { z } from 'zod'

/**
 * Download monitoring: every download the app streams itself (library links, disk-store files,
 * app-streamed one-time downloads) is watched while it runs and kept in a history.
 */

export const DOWNLOAD_STATUSES = ['active', 'completed', 'aborted', 'stalled', 'stopped', 'failed'] as const
/**
 * - active: bytes are flowing (or waiting for the client)
 * - completed: the last byte was handed to the network
 * - aborted: the client went away
 * - stalled: the client read nothing for STALL_TIMEOUT; the server closed the connection
 * - stopped: an admin or the share's owner pressed Stop
 * - failed: reading the source failed (storage down, library file changed meanwhile)
 */
export type DownloadStatus = (typeof DOWNLOAD_STATUSES)[number]

export interface MonitoredDownload {
  id: string
  shareId: string
  fileId: string | null
  fileName: string
  /** where the bytes come from */
  source: 'library' | 'disk' | 's3'
  client: { ip: string; userAgent: string | null }
  /** bytes of this response handed to the network so far */
  bytes: number
  /** first byte of this response within the file (Range) */
  offset: number
  /** bytes this response sends in all */
  length: number
  /** size of the whole file */
  total: number
  /** of the whole file, counting what a Range skipped: (offset + bytes) / total */
  percent: number
  /** bytes per second over the last few seconds */
  speed: number
  status: DownloadStatus
  startedAt: string
  updatedAt: string
  endedAt: string | null
}

export const DownloadsQuery = z.object({
  status: z.enum(['active', 'finished', 'all']).default('active'),
  shareId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{22,64}$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
})
export type DownloadsQuery = z.infer<typeof DownloadsQuery>

export const DownloadId = z.string().regex(/^[A-Za-z0-9_-]{22,64}$/, 'not a download id')

/** Socket.IO events of the monitor, on `/admin` (every download) and `/account` (the owner's own). */
export interface MonitorServerToClient {
  /** each instance, about once a second: its active downloads */
  'downloads:progress': (downloads: MonitoredDownload[]) => void
  /** a download ended (any status but active) */
  'downloads:ended': (download: MonitoredDownload) => void
}

/** `/account`: a signed-in user's own live feed (their shares' downloads). */
export const ACCOUNT_NAMESPACE = '/account'
