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

const int = z.number().int()
const isoTime = z.string().meta({ format: 'date-time' })

export const MonitoredDownload = z
  .object({
    id: z.string(),
    shareId: z.string(),
    fileId: z.string().nullable(),
    fileName: z.string(),
    /** where the bytes come from */
    /** `sender`: a direct download, from the sender's page (`path` says direct or relay) */
    source: z.enum(['library', 'disk', 's3', 'sender']),
    /** how it reached the recipient: from the cloud (the app streamed it), or from the sender's page (a `direct` link) */
    path: z.enum(['cloud', 'direct', 'relay']).optional(),
    /** the recipient's device, from its User-Agent ("someone" when unknown) */
    device: z.string().optional(),
    client: z.object({ ip: z.string(), userAgent: z.string().nullable() }),
    /** bytes of this response handed to the network so far */
    bytes: int,
    /** first byte of this response within the file (Range) */
    offset: int,
    /** bytes this response sends in all */
    length: int,
    /** size of the whole file */
    total: int,
    /** of the whole file, counting what a Range skipped: (offset + bytes) / total */
    percent: z.number(),
    /** bytes per second over the last few seconds */
    speed: z.number(),
    status: z.enum(DOWNLOAD_STATUSES),
    startedAt: isoTime,
    updatedAt: isoTime,
    endedAt: isoTime.nullable(),
  })
  .meta({ id: 'MonitoredDownload' })
export type MonitoredDownload = z.infer<typeof MonitoredDownload>

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
