import type {
  AdminSettings,
  AdminShare,
  AdminSharesQuery,
  AdminUser,
  AdminUsersQuery,
  AuditEntry,
  AuditQuery,
  LiveFigures,
  Page,
  Role,
  SettingsResponse,
  StatsQuery,
  StatsResponse,
} from '@sharesync/protocol'
import { setUserRole } from '../auth/auth.service'
import { toSessionUser } from '../auth/session.middleware'
import { adminRepo } from '../db/admin.repo'
import { auditRepo, type NewAuditEntry } from '../db/audit.repo'
import { statsRepo, type DayRange } from '../db/stats.repo'
import type { Deps } from '../deps'
import { AppError } from '../http/app-error'
import type { SessionUser } from '../http/viewer'
import { ShareDeletion } from '../shares/deletion.service'

const DEFAULT_RANGE_DAYS = 30
const TOP_SHARES = 10

/** Where live figures come from (the realtime server, cluster-wide). */
export type LiveSource = () => Promise<LiveFigures>

export const noLive: LiveSource = async () => ({
  sockets: 0,
  rooms: 0,
  peers: 0,
  transfersInProgress: 0,
  relays: 0,
  dashboards: 0,
  at: new Date().toISOString(),
})

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)

/** The day range of a stats query: both ends given, one end given (30 days from/to it), or the last 30 days. */
export function rangeOf(query: StatsQuery, now = Date.now()): DayRange {
  const span = (DEFAULT_RANGE_DAYS - 1) * 86_400_000
  if (query.from && query.to) return { from: query.from, to: query.to }
  if (query.from) return { from: query.from, to: day(Date.parse(`${query.from}T00:00:00Z`) + span) }
  const to = query.to ?? day(now)
  return { from: day(Date.parse(`${to}T00:00:00Z`) - span), to }
}

/**
 * The rules of the admin dashboard: statistics, management of shares and users, settings, and the
 * audit log every action writes to. Callers are admins (the routes check); the rules here are about
 * what an admin may do to whom.
 */
export class AdminService {
  constructor(
    private readonly deps: Deps,
    private readonly live: LiveSource = noLive,
    private readonly deletion = new ShareDeletion(deps),
  ) {}

  async stats(query: StatsQuery): Promise<StatsResponse> {
    const range = rangeOf(query)
    const db = this.deps.db
    // this instance's latest download counts first (they are written in batches)
    await this.deps.downloadEvents.flush()
    const [totals, series, topShares, uploadsBySource, live] = await Promise.all([
      statsRepo.totals(db),
      statsRepo.daily(db, range),
      statsRepo.topShares(db, TOP_SHARES),
      statsRepo.uploadsBySource(db, range),
      this.live(),
    ])
    return { range, totals, series, topShares, uploadsBySource, live }
  }

  liveFigures(): Promise<LiveFigures> {
    return this.live()
  }

  async listShares(query: AdminSharesQuery): Promise<Page<AdminShare>> {
    await this.deps.downloadEvents.flush()
    return { ...(await adminRepo.listShares(this.deps.db, query)), limit: query.limit, offset: query.offset }
  }

  /** Deletes a share and its blobs at once; its link answers 404 from now on. */
  async deleteShare(actor: SessionUser, shareId: string): Promise<void> {
    if (!(await this.deletion.deleteNow(shareId, 'admin'))) throw new AppError('not_found', 'No such share, or it is already deleted.')
    await this.audit(actor, { action: 'share.delete', targetType: 'share', targetId: shareId })
  }

  async listUsers(query: AdminUsersQuery): Promise<Page<AdminUser>> {
    return { ...(await adminRepo.listUsers(this.deps.db, query)), limit: query.limit, offset: query.offset }
  }

  /**
   * Disabling signs the user out everywhere (sessions deleted), stops their links (404) and their
   * sign-ins; re-enabling restores sign-in and the links that have not expired meanwhile.
   */
  async setDisabled(actor: SessionUser, userId: string, disabled: boolean): Promise<SessionUser & { disabled: boolean }> {
    if (actor.id === userId) throw new AppError('forbidden', 'You cannot disable your own account.')
    const row = await this.deps.db.tx((q) => adminRepo.setDisabled(q, userId, disabled))
    if (!row) throw new AppError('not_found', 'No such user.')
    this.deps.events.emit('userAccessChanged', { userId })
    await this.audit(actor, {
      action: disabled ? 'user.disable' : 'user.enable',
      targetType: 'user',
      targetId: userId,
      details: { email: row.email },
    })
    return { ...toSessionUser(row), disabled: row.disabled_at !== null }
  }

  async setRole(actor: SessionUser, userId: string, role: Role): Promise<SessionUser> {
    const user = await setUserRole(this.deps, actor, userId, role)
    this.deps.events.emit('userAccessChanged', { userId })
    await this.audit(actor, { action: 'user.role', targetType: 'user', targetId: userId, details: { email: user.email, role } })
    return user
  }

  settings(): Promise<SettingsResponse> {
    return this.deps.settings.read()
  }

  /** Saves the settings; every instance applies them within about a second (this one at once). */
  async saveSettings(actor: SessionUser, next: AdminSettings): Promise<SettingsResponse> {
    const before = (await this.deps.settings.read()).settings
    const saved = await this.deps.settings.save(next, actor.email)
    await this.audit(actor, {
      action: 'settings.update',
      targetType: 'settings',
      targetId: null,
      details: { changed: changes(before, next) },
    })
    return saved
  }

  async auditLog(query: AuditQuery): Promise<Page<AuditEntry>> {
    return { ...(await auditRepo.list(this.deps.db, query.limit, query.offset)), limit: query.limit, offset: query.offset }
  }

  private async audit(actor: SessionUser, e: Omit<NewAuditEntry, 'actorId' | 'actorEmail'>): Promise<void> {
    const entry = await auditRepo.append(this.deps.db, { actorId: actor.id, actorEmail: actor.email, ...e })
    this.deps.logger.info({ actor: actor.id, action: e.action, target: e.targetId }, 'admin action')
    this.deps.events.emit('auditLogged', { entry })
  }
}

/** "user.maxFileSize: 10737418240 -> 1048576", for the audit log: only what changed. */
function changes(before: AdminSettings, after: AdminSettings): Record<string, { from: unknown; to: unknown }> {
  const flat = (s: AdminSettings): Record<string, unknown> => ({
    allowAnonymousUploads: s.allowAnonymousUploads,
    defaultExpiry: s.defaultExpiry,
    ...Object.fromEntries(Object.entries(s.user).map(([k, v]) => [`user.${k}`, v])),
    ...Object.fromEntries(Object.entries(s.anonymous).map(([k, v]) => [`anonymous.${k}`, v])),
    'uploadRateLimit.points': s.uploadRateLimit.points,
    'uploadRateLimit.seconds': s.uploadRateLimit.seconds,
  })
  const a = flat(before)
  const b = flat(after)
  return Object.fromEntries(
    Object.keys(b)
      .filter((k) => a[k] !== b[k])
      .map((k) => [k, { from: a[k], to: b[k] }]),
  )
}
