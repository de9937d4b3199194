import { randomBytes } from 'node:crypto'
import type {
  NotificationChannels,
  NotificationChannelsRequest,
  NotifyOptions,
  WebhookEventName,
  WebhookPayload,
} from '@sharesync/protocol'
import { createRequire } from 'node:module'
import type nodemailerModule from 'nodemailer'
import type { Transporter } from 'nodemailer'
import { mySharesRepo } from '../db/my-shares.repo'
import { requestsRepo } from '../db/requests.repo'
import { notifyRepo, type DeliveryRow, type NewDelivery, type ShareForNotice } from '../db/notify.repo'
import type { Deps } from '../deps'
import { AppError, shareNotFound } from '../http/app-error'
import type { SessionUser, Viewer } from '../http/viewer'
import { newId } from '../shares/ids'
import { checkWebhookUrl, postWebhook } from './webhook-sender'

/** E-mails go out for these; webhooks get every event. */
const EMAIL_EVENTS = new Set<WebhookEventName>(['share.downloaded', 'share.exhausted', 'share.expired', 'request.received'])
const BATCH = 20

type Config = Deps['config']['notifications']

/**
 * Tells owners what happened to their shares — only shares that asked (share_notify), only through
 * the channels their owner set up (e-mail to the account's address, the account's webhook) and the
 * operator's global webhook. Deliveries are rows of a queue in the database, sent by a worker with
 * retries and back-off; any instance may send any delivery, and a restart loses none.
 */
export class NotificationsService {
  private readonly mailer: Transporter | null
  private timer: NodeJS.Timeout | null = null
  private running: Promise<void> | null = null
  private again = false
  private readonly unsubscribe: (() => void)[] = []
  /** downloads heard of and not yet looked at, per share (each looked at once per window) */
  private downloaded = new Map<string, number[]>()
  private downloadTimer: NodeJS.Timeout | null = null
  private downloadsSeen: Promise<void> = Promise.resolve()

  constructor(
    private readonly deps: Pick<Deps, 'db' | 'events' | 'logger' | 'downloadEvents'> & { config: { notifications: Config; downloadCountFlushMs: number } },
    /** the origin links in notices are built on (PUBLIC_URL, else the server's own address) */
    private readonly baseUrl: () => string,
  ) {
    const smtp = deps.config.notifications.smtpUrl
    // nodemailer (~10 MiB once loaded) is loaded only when SMTP_URL asks for it
    this.mailer = smtp ? (createRequire(import.meta.url)('nodemailer') as typeof nodemailerModule).createTransport(smtp) : null
  }

  get emailAvailable(): boolean {
    return this.mailer !== null
  }

  /** Listens to what happens to shares and starts the delivery worker. */
  start(): void {
    const { events, logger } = this.deps
    const guard = (work: Promise<unknown>) =>
      void work.catch((err: unknown) => logger.warn({ err }, 'notifications: could not queue a notice'))
    this.unsubscribe.push(
      events.on('shareCreated', ({ shareId }) => guard(this.onCreated(shareId))),
      events.on('shareDownloaded', ({ shareId, bytes }) => this.heardDownload(shareId, bytes)),
      events.on('shareDeleted', ({ shareId }) => guard(this.onDeleted(shareId))),
      events.on('requestReceived', ({ requestId, shareId }) => guard(this.onRequestReceived(requestId, shareId))),
    )
    const tick = () => {
      this.kick()
      this.timer = setTimeout(tick, this.deps.config.notifications.pollIntervalMs)
      this.timer.unref()
    }
    tick()
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    for (const off of this.unsubscribe.splice(0)) off()
    await this.lookAtDownloads()
    await this.running
    this.mailer?.close()
  }

  // ------------------------------------------------------------------ what owners ask

  /** A share's wishes, set when it is made (library links) or later by its signed-in owner. */
  async configure(shareId: string, notify: NotifyOptions): Promise<void> {
    await notifyRepo.setShareNotify(this.deps.db, shareId, notify)
  }

  async setShareNotify(user: SessionUser, shareId: string, notify: NotifyOptions): Promise<NotifyOptions> {
    const share = await mySharesRepo.findOwned(this.deps.db, shareId, user.id)
    if (!share) throw shareNotFound()
    if (notify.downloads === 'last' && share.max_downloads === null) {
      throw new AppError('invalid_input', 'downloads: "last" needs a share with a download limit.')
    }
    await this.configure(shareId, notify)
    return notify
  }

  async shareNotify(user: SessionUser, shareId: string): Promise<NotifyOptions> {
    if (!(await mySharesRepo.findOwned(this.deps.db, shareId, user.id))) throw shareNotFound()
    return (await notifyRepo.shareNotify(this.deps.db, shareId)) ?? { downloads: 'off', expired: false }
  }

  /** For link creation: only a signed-in creator's wishes are kept (anonymous links have no channels). */
  async onLinkCreated(shareId: string, viewer: Viewer, notify: NotifyOptions | undefined): Promise<void> {
    if (viewer.user && notify) await this.configure(shareId, notify)
  }

  async channels(user: SessionUser): Promise<NotificationChannels> {
    const row = await notifyRepo.channels(this.deps.db, user.id)
    return {
      email: row?.email ?? false,
      emailAddress: user.email,
      emailAvailable: this.emailAvailable,
      webhookUrl: row?.webhook_url ?? null,
      webhookSecret: row?.webhook_secret ?? null,
    }
  }

  /** Saves where notices go; a webhook URL is checked (SSRF) before it is stored, and gets a signing secret. */
  async saveChannels(user: SessionUser, req: NotificationChannelsRequest): Promise<NotificationChannels> {
    if (req.webhookUrl) checkWebhookUrl(req.webhookUrl, this.deps.config.notifications.allowPrivateTargets)
    if (req.email && !this.emailAvailable) throw new AppError('invalid_input', 'email: this server has no SMTP server configured.')
    const current = await notifyRepo.channels(this.deps.db, user.id)
    const secret = req.webhookUrl
      ? req.rotateSecret || !current?.webhook_secret
        ? randomBytes(32).toString('base64url')
        : current.webhook_secret
      : null
    await notifyRepo.saveChannels(this.deps.db, { user_id: user.id, email: req.email, webhook_url: req.webhookUrl, webhook_secret: secret })
    return this.channels(user)
  }

  // ------------------------------------------------------------------ events -> deliveries

  private async onCreated(shareId: string): Promise<void> {
    if (!(await notifyRepo.shareNotify(this.deps.db, shareId))) return
    if (await notifyRepo.claimOnce(this.deps.db, shareId, 'created_sent_at')) await this.enqueue('share.created', shareId)
  }

  /**
   * Downloads are looked at once per share per window (the download events' flush interval), after
   * this instance's events are written: a popular link costs one read of its wishes per window, not
   * one per download, and a notice's count includes the downloads it reports.
   */
  private heardDownload(shareId: string, bytes: number): void {
    const seen = this.downloaded.get(shareId)
    if (seen) seen.push(bytes)
    else this.downloaded.set(shareId, [bytes])
    if (this.downloadTimer) return
    this.downloadTimer = setTimeout(() => void this.lookAtDownloads(), this.deps.config.downloadCountFlushMs)
    this.downloadTimer.unref()
  }

  /** Notices for the downloads heard of so far (one pass at a time). */
  private lookAtDownloads(): Promise<void> {
    if (this.downloadTimer) clearTimeout(this.downloadTimer)
    this.downloadTimer = null
    this.downloadsSeen = this.downloadsSeen.then(async () => {
      const heard = this.downloaded
      if (heard.size === 0) return
      this.downloaded = new Map()
      await this.deps.downloadEvents.flush()
      for (const [shareId, bytes] of heard) {
        await this.onDownloaded(shareId, bytes).catch((err: unknown) => this.deps.logger.warn({ err }, 'notifications: could not queue a notice'))
      }
    })
    return this.downloadsSeen
  }

  /** `bytes`: one entry per download of this share since the last look, oldest first. */
  private async onDownloaded(shareId: string, bytes: number[]): Promise<void> {
    const wish = await notifyRepo.shareNotify(this.deps.db, shareId)
    if (!wish) return
    const share = await notifyRepo.shareForNotice(this.deps.db, shareId)
    if (!share) return
    for (const [i, size] of bytes.entries()) {
      const download = { bytes: size, client: null }
      // each notice counts the downloads up to its own
      const asOf = { ...share, downloads: Math.max(0, share.downloads - (bytes.length - 1 - i)) }
      if (
        wish.downloads === 'every' ||
        (wish.downloads === 'first' && (await notifyRepo.claimOnce(this.deps.db, shareId, 'first_sent_at')))
      ) {
        await this.enqueue('share.downloaded', shareId, download, asOf)
      }
    }
    const last = { bytes: bytes.at(-1) ?? 0, client: null }
    if (wish.downloads !== 'off' && share.exhausted && (await notifyRepo.claimOnce(this.deps.db, shareId, 'exhausted_sent_at'))) {
      await this.enqueue('share.exhausted', shareId, last, share)
    }
  }

  private async onDeleted(shareId: string): Promise<void> {
    // Expired first: a share the janitor removes after it expired unused reports that, then its deletion.
    await this.findExpired()
    if (await notifyRepo.shareNotify(this.deps.db, shareId)) await this.enqueue('share.deleted', shareId)
  }

  /** Files arrived in a file request: its requester is told through every channel they set up (they asked by making it). */
  private async onRequestReceived(requestId: string, shareId: string): Promise<void> {
    const request = await requestsRepo.find(this.deps.db, requestId)
    if (!request) return
    await this.enqueue('request.received', shareId, undefined, undefined, {
      id: request.id,
      title: request.title,
      url: `${this.baseUrl()}/me/requests#${request.id}`,
    })
  }

  private async findExpired(): Promise<void> {
    // "expired unused": this instance's last downloads must be in the database first
    await this.deps.downloadEvents.flush()
    for (const shareId of await notifyRepo.claimExpired(this.deps.db, 100)) await this.enqueue('share.expired', shareId)
  }

  /** One delivery per channel that wants this event; the worker is woken at once. */
  private async enqueue(
    event: WebhookEventName,
    shareId: string,
    download?: WebhookPayload['download'],
    known?: ShareForNotice,
    request?: WebhookPayload['request'],
  ): Promise<void> {
    const share = known ?? (await notifyRepo.shareForNotice(this.deps.db, shareId))
    if (!share) return
    const at = new Date().toISOString()
    const payload = (id: string): WebhookPayload => ({
      id,
      event,
      at,
      share: {
        id: share.id,
        url: request?.url ?? `${this.baseUrl()}/s/${share.id}`,
        name: share.name,
        source: share.source,
        downloads: share.downloads,
        maxDownloads: share.max_downloads,
        expiresAt: new Date(share.expires_at).toISOString(),
      },
      ...(download ? { download } : {}),
      ...(request ? { request } : {}),
    })
    const deliveries: NewDelivery[] = []
    const add = (channel: NewDelivery['channel'], target: string, signer: string | null) => {
      const id = newId()
      deliveries.push({ id, channel, target, signer, event, shareId, payload: payload(id) })
    }
    const channels = share.owner_user_id ? await notifyRepo.channels(this.deps.db, share.owner_user_id) : null
    if (channels?.email && share.owner_email && this.mailer && EMAIL_EVENTS.has(event)) add('email', share.owner_email, null)
    if (channels?.webhook_url && channels.webhook_secret) add('webhook', channels.webhook_url, share.owner_user_id)
    const global = this.deps.config.notifications.webhook
    if (global) add('webhook', global.url, 'global')
    if (deliveries.length === 0) return
    await notifyRepo.enqueue(this.deps.db, deliveries)
    this.kick()
  }

  // ------------------------------------------------------------------ the worker

  /** Runs the queue now (or once more right after the current run). */
  kick(): void {
    if (this.running) {
      this.again = true
      return
    }
    this.running = this.drain()
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'notifications: delivery run failed'))
      .finally(() => {
        this.running = null
        if (this.again) {
          this.again = false
          this.kick()
        }
      })
  }

  private async drain(): Promise<void> {
    await this.findExpired()
    const { timeoutMs } = this.deps.config.notifications
    for (;;) {
      const due = await notifyRepo.claimDue(this.deps.db, BATCH, Math.ceil((timeoutMs * 3) / 1000))
      if (due.length === 0) return
      await Promise.all(due.map((d) => this.attempt(d)))
      if (due.length < BATCH) return
    }
  }

  private async attempt(d: DeliveryRow): Promise<void> {
    const n = this.deps.config.notifications
    const payload = typeof d.payload === 'string' ? (JSON.parse(d.payload) as WebhookPayload) : d.payload
    let result: { ok: boolean; status: number | null; error?: string }
    try {
      result = d.channel === 'email' ? await this.sendMail(d.target, payload) : await this.sendWebhook(d, payload)
    } catch (err) {
      result = { ok: false, status: null, error: err instanceof Error ? err.message : String(err) }
    }
    if (result.ok) {
      await notifyRepo.delivered(this.deps.db, d.id, result.status)
      return
    }
    // Exponential back-off with a little jitter: base, 2×base, 4×base… (attempts counts this one).
    const retryMs = n.retryBaseMs * 2 ** (d.attempts - 1) * (1 + Math.random() * 0.1)
    await notifyRepo.attemptFailed(this.deps.db, d.id, {
      status: result.status,
      error: result.error ?? 'failed',
      retryMs,
      final: d.attempts >= n.maxAttempts,
    })
    this.deps.logger.info({ delivery: d.id, attempts: d.attempts, error: result.error }, 'notifications: delivery attempt failed')
    // Wake up when the retry is due (the poll would find it too, later).
    setTimeout(() => this.kick(), retryMs + 5).unref()
  }

  private async sendWebhook(d: DeliveryRow, payload: WebhookPayload) {
    const n = this.deps.config.notifications
    const secret = d.signer === 'global' ? n.webhook?.secret : (await notifyRepo.channels(this.deps.db, d.signer ?? ''))?.webhook_secret
    if (!secret) return { ok: false, status: null, error: 'the webhook was removed' }
    return postWebhook(d.target, {
      secret,
      body: JSON.stringify(payload),
      event: d.event,
      deliveryId: d.id,
      timeoutMs: n.timeoutMs,
      allowPrivate: n.allowPrivateTargets,
    })
  }

  private async sendMail(to: string, p: WebhookPayload) {
    if (!this.mailer) return { ok: false, status: null, error: 'no SMTP server configured' }
    const name = p.share.name ?? 'your link'
    const what: Record<WebhookEventName, string> = {
      'share.created': `Your link to ${name} was created`,
      'share.downloaded': `${name} was downloaded`,
      'share.exhausted': `${name} was downloaded for the last allowed time`,
      'share.expired': `${name} expired without being downloaded`,
      'share.deleted': `Your link to ${name} was deleted`,
      'request.received': `Files arrived for your request "${p.request?.title ?? ''}"`,
    }
    const lines = p.request
      ? [
          `${what[p.event]}.`,
          '',
          `First file: ${name}`,
          `See what arrived: ${p.share.url}`,
          `When: ${p.at}`,
          '',
          'You get this because you made this file request.',
        ]
      : [
          `${what[p.event]}.`,
          '',
          `Link: ${p.share.url}`,
          `Downloads: ${p.share.downloads}${p.share.maxDownloads !== null ? ` of ${p.share.maxDownloads}` : ''}`,
          `Expires: ${p.share.expiresAt}`,
          `When: ${p.at}`,
          '',
          'You get this because you asked to be told about this link. Change it in My shares.',
        ]
    const info = (await this.mailer.sendMail({
      from: this.deps.config.notifications.mailFrom,
      to,
      subject: `ShareSync: ${what[p.event]}`,
      text: lines.join('\n'),
    })) as { accepted?: unknown[] }
    return { ok: (info.accepted?.length ?? 0) > 0, status: null, error: 'the SMTP server accepted no recipient' }
  }
}
