import { z } from 'zod'
import type { Role } from './auth'

/**
 * The admin dashboard: `/api/admin/*` bodies and queries, the settings an admin can change at run
 * time, and the `/admin` Socket.IO namespace (live figures and events).
 */

export const ADMIN_NAMESPACE = '/admin'
/** Socket.IO room every admin socket joins: events are broadcast to it (cluster-wide with Redis). */
export const ADMINS_ROOM = 'admins'

const DAY = /^\d{4}-\d{2}-\d{2}$/
const isoDay = z
  .string()
  .regex(DAY, 'a day as YYYY-MM-DD')
  .refine((v) => !Number.isNaN(Date.parse(`${v}T00:00:00Z`)), 'not a real day')
/** Longest range the per-day series may cover. */
export const MAX_STATS_DAYS = 366

/** `GET /api/admin/stats?from=YYYY-MM-DD&to=YYYY-MM-DD` (UTC days, both included; default the last 30 days). */
export const StatsQuery = z
  .object({ from: isoDay.optional(), to: isoDay.optional() })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { message: 'from must not be after to', path: ['from'] })
  .refine((q) => !q.from || !q.to || (Date.parse(q.to) - Date.parse(q.from)) / 86_400_000 < MAX_STATS_DAYS, {
    message: `the range may cover at most ${MAX_STATS_DAYS} days`,
    path: ['to'],
  })
export type StatsQuery = z.infer<typeof StatsQuery>

export interface StatsTotals {
  users: number
  disabledUsers: number
  admins: number
  /** ready, not expired */
  activeShares: number
  /** bytes held in storage by shares not deleted */
  storedBytes: number
  /** finalized shares ever */
  uploads: number
  uploadBytes: number
  /** download URLs issued ever */
  downloads: number
  downloadBytes: number
  p2pTransfers: number
  p2pCompleted: number
  p2pBytes: number
  /** server relay channels opened, and bytes relayed (both directions) */
  p2pRelays: number
  p2pRelayBytes: number
}

export interface DailyFigures {
  /** YYYY-MM-DD (UTC) */
  day: string
  uploads: number
  downloads: number
  bytesUp: number
  bytesDown: number
  p2pTransfers: number
  p2pBytes: number
}

export interface TopShare {
  id: string
  /** null when encrypted */
  name: string | null
  encrypted: boolean
  fileCount: number
  size: number
  downloads: number
  ownerEmail: string | null
  status: AdminShareStatus
}

export interface UploadsBySource {
  anonymous: { uploads: number; bytes: number }
  signedIn: { uploads: number; bytes: number }
}

/** Live figures of the whole cluster. */
export interface LiveFigures {
  /** Socket.IO connections to /rooms and /admin */
  sockets: number
  /** P2P rooms with at least one member */
  rooms: number
  /** sockets inside a room */
  peers: number
  transfersInProgress: number
  /** server relay channels open */
  relays: number
  /** open admin dashboards */
  dashboards: number
  at: string
}

export interface StatsResponse {
  range: { from: string; to: string }
  totals: StatsTotals
  series: DailyFigures[]
  topShares: TopShare[]
  uploadsBySource: UploadsBySource
  live: LiveFigures
}

// ---------------------------------------------------------------- management

const page = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
}
const search = z.string().trim().max(200).optional()

export const AdminShareStatus = z.enum(['uploading', 'active', 'expired', 'deleted'])
export type AdminShareStatus = z.infer<typeof AdminShareStatus>

export const AdminSharesQuery = z.object({
  q: search,
  status: z.enum(['all', 'uploading', 'active', 'expired', 'deleted']).default('all'),
  ...page,
})
export type AdminSharesQuery = z.infer<typeof AdminSharesQuery>

export interface AdminShare {
  id: string
  /** first file's name (password-protected shares too: an admin sees names); null when encrypted */
  name: string | null
  /** end-to-end encrypted: nobody on the server side knows its names */
  encrypted: boolean
  fileCount: number
  size: number
  downloads: number
  maxDownloads: number | null
  passwordProtected: boolean
  anonymous: boolean
  ownerId: string | null
  ownerEmail: string | null
  status: AdminShareStatus
  createdAt: string
  expiresAt: string
  /** upload: bytes in storage; library: linked in place from LIBRARY_DIR (no storage used) */
  source: 'upload' | 'library'
}

export const AdminUsersQuery = z.object({ q: search, ...page })
export type AdminUsersQuery = z.infer<typeof AdminUsersQuery>

export interface AdminUser {
  id: string
  email: string
  name: string
  role: Role
  disabled: boolean
  createdAt: string
  lastLoginAt: string | null
  /** shares not deleted */
  shares: number
  storedBytes: number
  /** may browse the library and link to it (admins always may) */
  libraryAccess: boolean
}

export interface Page<T> {
  items: T[]
  total: number
  limit: number
  offset: number
}

export const AuditQuery = z.object({ ...page })
export type AuditQuery = z.infer<typeof AuditQuery>

export type AuditAction = 'share.delete' | 'user.disable' | 'user.enable' | 'user.role' | 'settings.update' | 'user.library'

export interface AuditEntry {
  id: number
  at: string
  actorId: string | null
  actorEmail: string
  action: AuditAction
  targetType: 'share' | 'user' | 'settings'
  targetId: string | null
  details: Record<string, unknown>
}

// ---------------------------------------------------------------- settings

const bytes = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)
const seconds = z
  .number()
  .int()
  .min(1)
  .max(10 * 365 * 86_400)

export const RoleLimits = z.object({ maxFileSize: bytes, maxExpiry: seconds, dailyQuota: bytes }).strict()

/**
 * The upload policy an admin can change while the server runs. Defaults come from the environment
 * (MAX_FILE_SIZE, …); a saved row overrides them on every instance within about a second.
 */
export const AdminSettings = z
  .object({
    allowAnonymousUploads: z.boolean(),
    /** The upload page's "End-to-end encryption" option starts switched on. */
    encryptByDefault: z.boolean(),
    /** Only end-to-end encrypted uploads are accepted (curl uploads of plain files are refused). */
    requireEncryption: z.boolean(),
    /** P2P devices that cannot connect directly may send through the server relay. */
    p2pRelay: z.boolean(),
    defaultExpiry: seconds,
    user: RoleLimits,
    anonymous: RoleLimits,
    /** uploads per client per window */
    uploadRateLimit: z
      .object({
        points: z.number().int().min(1).max(1_000_000),
        seconds: z
          .number()
          .int()
          .min(1)
          .max(30 * 86_400),
      })
      .strict(),
  })
  .strict()
  .refine((s) => s.defaultExpiry <= s.user.maxExpiry, { message: 'must not exceed the signed-in maximum expiry', path: ['defaultExpiry'] })
export type AdminSettings = z.infer<typeof AdminSettings>

export interface SettingsResponse {
  /** what applies now */
  settings: AdminSettings
  /** the environment's values (what "reset" returns to) */
  defaults: AdminSettings
  updatedAt: string | null
  updatedBy: string | null
}

// ---------------------------------------------------------------- role / disable

export const SetDisabledRequest = z.object({ disabled: z.boolean() }).strict()
export type SetDisabledRequest = z.infer<typeof SetDisabledRequest>

// ---------------------------------------------------------------- live feed (Socket.IO `/admin`)

export type AdminEvent =
  | { type: 'shareCreated'; at: string; shareId: string; bytes: number; files: number; anonymous: boolean }
  | { type: 'shareDownloaded'; at: string; shareId: string; fileId: string; bytes: number }
  | { type: 'shareDeleted'; at: string; shareId: string; by: 'owner' | 'admin' | 'janitor' }
  | { type: 'roomOpened'; at: string; roomId: string }
  | { type: 'roomClosed'; at: string; roomId: string }
  | { type: 'transferFinished'; at: string; bytes: number; files: number; ms: number; status: string }
  | { type: 'janitorRun'; at: string; deleted: number }
  | { type: 'audit'; at: string; entry: AuditEntry }

export interface AdminServerToClient {
  'admin:live': (live: LiveFigures) => void
  'admin:event': (event: AdminEvent) => void
}

// The dashboard only listens; nothing is sent from the client.
export type AdminClientToServer = Record<string, never>
