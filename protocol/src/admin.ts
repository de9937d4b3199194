import { z } from 'zod'
import { Role } from './auth'

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

const int = z.number().int()
const isoTime = z.string().meta({ format: 'date-time' })

export const StatsTotals = z.object({
  users: int,
  disabledUsers: int,
  admins: int,
  /** ready, not expired */
  activeShares: int,
  /** bytes held in storage by shares not deleted */
  storedBytes: int,
  /** finalized shares ever */
  uploads: int,
  uploadBytes: int,
  /** download URLs issued ever */
  downloads: int,
  downloadBytes: int,
  p2pTransfers: int,
  p2pCompleted: int,
  p2pBytes: int,
  /** server relay channels opened, and bytes relayed (both directions) */
  p2pRelays: int,
  p2pRelayBytes: int,
})
export type StatsTotals = z.infer<typeof StatsTotals>

export const DailyFigures = z.object({
  /** YYYY-MM-DD (UTC) */
  day: z.string(),
  uploads: int,
  downloads: int,
  bytesUp: int,
  bytesDown: int,
  p2pTransfers: int,
  p2pBytes: int,
})
export type DailyFigures = z.infer<typeof DailyFigures>

/** `used_up`: a share with a download limit whose last allowed download happened (a download of a share is the whole share). */
export const AdminShareStatus = z.enum(['uploading', 'active', 'used_up', 'expired', 'deleted'])
export type AdminShareStatus = z.infer<typeof AdminShareStatus>

export const TopShare = z.object({
  id: z.string(),
  /** null when encrypted */
  name: z.string().nullable(),
  encrypted: z.boolean(),
  fileCount: int,
  size: int,
  downloads: int,
  ownerEmail: z.string().nullable(),
  status: AdminShareStatus,
})
export type TopShare = z.infer<typeof TopShare>

const uploadsAndBytes = z.object({ uploads: int, bytes: int })
export const UploadsBySource = z.object({ anonymous: uploadsAndBytes, signedIn: uploadsAndBytes })
export type UploadsBySource = z.infer<typeof UploadsBySource>

/** Live figures of the whole cluster. */
export const LiveFigures = z
  .object({
    /** Socket.IO connections to /rooms and /admin */
    sockets: int,
    /** P2P rooms with at least one member */
    rooms: int,
    /** sockets inside a room */
    peers: int,
    transfersInProgress: int,
    /** server relay channels open */
    relays: int,
    /** open admin dashboards */
    dashboards: int,
    at: isoTime,
  })
  .meta({ id: 'LiveFigures' })
export type LiveFigures = z.infer<typeof LiveFigures>

export const StatsResponse = z
  .object({
    range: z.object({ from: z.string(), to: z.string() }),
    totals: StatsTotals,
    series: z.array(DailyFigures),
    topShares: z.array(TopShare),
    uploadsBySource: UploadsBySource,
    live: LiveFigures,
  })
  .meta({ id: 'StatsResponse' })
export type StatsResponse = z.infer<typeof StatsResponse>

// ---------------------------------------------------------------- management

const page = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
}
const search = z.string().trim().max(200).optional()

export const AdminSharesQuery = z.object({
  q: search,
  status: z.enum(['all', 'uploading', 'active', 'used_up', 'expired', 'deleted']).default('all'),
  ...page,
})
export type AdminSharesQuery = z.infer<typeof AdminSharesQuery>

export const AdminShare = z
  .object({
    id: z.string(),
    /** first file's name (password-protected shares too: an admin sees names); null when encrypted */
    name: z.string().nullable(),
    /** end-to-end encrypted: nobody on the server side knows its names */
    encrypted: z.boolean(),
    fileCount: int,
    size: int,
    downloads: int,
    maxDownloads: int.nullable(),
    passwordProtected: z.boolean(),
    anonymous: z.boolean(),
    ownerId: z.string().nullable(),
    ownerEmail: z.string().nullable(),
    status: AdminShareStatus,
    createdAt: isoTime,
    expiresAt: isoTime,
    /** upload: bytes in storage; library: linked in place from LIBRARY_DIR (no storage used) */
    source: z.enum(['upload', 'library']),
  })
  .meta({ id: 'AdminShare' })
export type AdminShare = z.infer<typeof AdminShare>

export const AdminUsersQuery = z.object({ q: search, ...page })
export type AdminUsersQuery = z.infer<typeof AdminUsersQuery>

export const AdminUser = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    role: Role,
    disabled: z.boolean(),
    createdAt: isoTime,
    lastLoginAt: isoTime.nullable(),
    /** shares not deleted */
    shares: int,
    storedBytes: int,
    /** may browse the library and link to it (admins always may) */
    libraryAccess: z.boolean(),
  })
  .meta({ id: 'AdminUser' })
export type AdminUser = z.infer<typeof AdminUser>

export interface Page<T> {
  items: T[]
  total: number
  limit: number
  offset: number
}

/** The schema of one page of `item`s (every paged list answers this shape). */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), total: int, limit: int, offset: int })
}

export const AuditQuery = z.object({ ...page })
export type AuditQuery = z.infer<typeof AuditQuery>

export const AuditAction = z.enum(['share.delete', 'user.disable', 'user.enable', 'user.role', 'settings.update', 'user.library', 'token.create', 'token.revoke'])
export type AuditAction = z.infer<typeof AuditAction>

export const AuditEntry = z
  .object({
    id: int,
    at: isoTime,
    actorId: z.string().nullable(),
    actorEmail: z.string(),
    action: AuditAction,
    targetType: z.enum(['share', 'user', 'settings', 'token']),
    targetId: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditEntry' })
export type AuditEntry = z.infer<typeof AuditEntry>

// ---------------------------------------------------------------- settings

const bytes = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)
const seconds = z
  .number()
  .int()
  .min(1)
  .max(10 * 365 * 86_400)

export const RoleLimits = z.object({ maxFileSize: bytes, maxExpiry: seconds, dailyQuota: bytes }).strict()

/** At most this many presets in one list (a select, not a data set). */
export const MAX_SHARE_PRESETS = 20

const presetList = <T extends z.ZodType<number>>(item: T) =>
  z
    .array(item)
    .min(1, 'give at least one preset, or null for any value')
    .max(MAX_SHARE_PRESETS, `at most ${MAX_SHARE_PRESETS} presets`)
    .refine((xs) => new Set(xs).size === xs.length, { message: 'each preset only once' })

/**
 * What a new link must be, for one audience. `null` presets mean any value within the limits;
 * a list means the link's expiry (seconds) or download limit must be one of them.
 */
export const AudienceRules = z
  .object({
    passwordRequired: z.boolean().default(false),
    encryptionRequired: z.boolean().default(false),
    expiryPresets: presetList(seconds).nullable().default(null),
    downloadPresets: presetList(z.number().int().min(1).max(1_000_000)).nullable().default(null),
    /** links without a download limit are allowed */
    unlimitedDownloads: z.boolean().default(true),
  })
  .strict()
  .meta({ id: 'AudienceRules' })
export type AudienceRules = z.infer<typeof AudienceRules>

/** The share rules per audience: links made without signing in, by signed-in users, by admins. */
export const ShareRules = z
  .object({ anonymous: AudienceRules, user: AudienceRules, admin: AudienceRules })
  .strict()
  .meta({ id: 'ShareRules' })
export type ShareRules = z.infer<typeof ShareRules>
export const OPEN_SHARE_RULES: ShareRules = {
  anonymous: AudienceRules.parse({}),
  user: AudienceRules.parse({}),
  admin: AudienceRules.parse({}),
}

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
    /** Recipients may preview files on share pages (owners can still turn previews off per share). */
    previews: z.boolean().default(true),
    /** Links made without signing in must have a password. */
    anonymousPasswordRequired: z.boolean().default(false),
    /** What new links must be, per audience (password, encryption, allowed expiry and download presets). */
    shareRules: ShareRules.default(OPEN_SHARE_RULES),
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
  .refine((s) => !s.shareRules.anonymous.expiryPresets || s.shareRules.anonymous.expiryPresets.some((x) => x <= s.anonymous.maxExpiry), {
    message: 'at least one preset must be within the anonymous maximum expiry',
    path: ['shareRules', 'anonymous', 'expiryPresets'],
  })
  .refine((s) => [s.shareRules.user, s.shareRules.admin].every((r) => !r.expiryPresets || r.expiryPresets.some((x) => x <= s.user.maxExpiry)), {
    message: 'at least one preset must be within the signed-in maximum expiry',
    path: ['shareRules'],
  })
  .meta({ id: 'AdminSettings' })
export type AdminSettings = z.infer<typeof AdminSettings>

export const SettingsResponse = z
  .object({
    /** what applies now */
    settings: AdminSettings,
    /** the environment's values (what "reset" returns to) */
    defaults: AdminSettings,
    updatedAt: isoTime.nullable(),
    updatedBy: z.string().nullable(),
  })
  .meta({ id: 'SettingsResponse' })
export type SettingsResponse = z.infer<typeof SettingsResponse>

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
