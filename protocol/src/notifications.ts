import { z } from 'zod'

/**
 * Notifications: a share's owner asks to be told about downloads and expiry, by e-mail and by
 * signed webhook. Nothing is ever sent about a share that did not ask.
 */

export const WEBHOOK_EVENTS = [
  'share.created',
  'share.downloaded',
  'share.exhausted',
  'share.expired',
  'share.deleted',
  'request.received',
] as const
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number]

/** Longest webhook URL accepted. */
export const MAX_WEBHOOK_URL_LENGTH = 2048

/**
 * What a share asks to be told about:
 * - `downloads`: `first` (the first completed download), `every` (each one), `last` (only when
 *   its last allowed download happened: needs maxDownloads), or `off`;
 * - `expired`: when it expires without having been downloaded.
 * A share that asks for anything also reports share.created and share.deleted to webhooks.
 */
export const NotifyOptions = z
  .object({
    downloads: z.enum(['off', 'first', 'every', 'last']).default('off'),
    expired: z.boolean().default(false),
  })
  .strict()
export type NotifyOptions = z.infer<typeof NotifyOptions>

/** `PUT /api/me/shares/:id/notify` */
export const SetShareNotifyRequest = NotifyOptions
export type SetShareNotifyRequest = NotifyOptions

/** Where a user's notifications go (`GET`/`PUT /api/me/notifications`). */
export const NotificationChannelsRequest = z
  .object({
    /** e-mail to the account's address */
    email: z.boolean(),
    /** http(s) URL that receives signed JSON POSTs; null: no webhook */
    webhookUrl: z.string().trim().max(MAX_WEBHOOK_URL_LENGTH).url().nullable(),
    /** make a new signing secret (the old one stops working) */
    rotateSecret: z.boolean().optional(),
  })
  .strict()
export type NotificationChannelsRequest = z.infer<typeof NotificationChannelsRequest>

export const NotificationChannels = z
  .object({
    email: z.boolean(),
    /** the account's address e-mails go to */
    emailAddress: z.string(),
    /** false when the server has no SMTP configured */
    emailAvailable: z.boolean(),
    webhookUrl: z.string().nullable(),
    /** the HMAC-SHA256 key the webhook's signatures are made with (shown to the owner only) */
    webhookSecret: z.string().nullable(),
  })
  .meta({ id: 'NotificationChannels' })
export type NotificationChannels = z.infer<typeof NotificationChannels>

/** The JSON body of every webhook POST (and of the e-mails' data). */
export interface WebhookPayload {
  /** delivery id: the same on every retry of one delivery */
  id: string
  event: WebhookEventName
  /** when the event happened */
  at: string
  share: {
    id: string
    url: string
    name: string | null
    source: 'upload' | 'library'
    downloads: number
    maxDownloads: number | null
    expiresAt: string
  }
  /** request.received: the file request the files were sent to (`share` is the upload; its url the requester's page) */
  request?: { id: string; title: string; url: string }
  /** share.downloaded / share.exhausted: the download that happened */
  download?: { bytes: number; client: string | null }
}

const isoTime = z.string().meta({ format: 'date-time' })

/** One row of the admin's delivery log. */
export const NotificationDelivery = z
  .object({
    id: z.string(),
    channel: z.enum(['email', 'webhook']),
    /** the webhook's host or the e-mail's domain (never a full address or URL with its query) */
    target: z.string(),
    event: z.enum(WEBHOOK_EVENTS),
    shareId: z.string(),
    status: z.enum(['pending', 'sending', 'delivered', 'failed']),
    attempts: z.number().int(),
    lastStatus: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: isoTime,
    nextAttemptAt: isoTime.nullable(),
    deliveredAt: isoTime.nullable(),
  })
  .meta({ id: 'NotificationDelivery' })
export type NotificationDelivery = z.infer<typeof NotificationDelivery>

export const DeliveriesQuery = z.object({
  status: z.enum(['all', 'pending', 'delivered', 'failed']).default('all'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
})
export type DeliveriesQuery = z.infer<typeof DeliveriesQuery>

/** Header names of a webhook POST. Signature: `v1=` + hex HMAC-SHA256(secret, `${timestamp}.${body}`). */
export const WEBHOOK_HEADERS = {
  event: 'x-sharesync-event',
  delivery: 'x-sharesync-delivery',
  timestamp: 'x-sharesync-timestamp',
  signature: 'x-sharesync-signature',
} as const
