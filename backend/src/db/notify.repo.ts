import type { DeliveriesQuery, NotificationDelivery, NotifyOptions, WebhookEventName, WebhookPayload } from '@sharesync/protocol'
import type { Queryable } from './db'

export interface ShareForNotice {
  id: string
  owner_user_id: string | null
  owner_email: string | null
  name: string | null
  source: 'upload' | 'library'
  downloads: number
  max_downloads: number | null
  expires_at: Date
  exhausted: boolean
}

export interface ChannelsRow {
  user_id: string
  email: boolean
  webhook_url: string | null
  webhook_secret: string | null
}

export interface NewDelivery {
  id: string
  channel: 'email' | 'webhook'
  target: string
  signer: string | null
  event: WebhookEventName
  shareId: string
  payload: WebhookPayload
}

export interface DeliveryRow {
  id: string
  channel: 'email' | 'webhook'
  target: string
  signer: string | null
  event: WebhookEventName
  share_id: string
  payload: WebhookPayload | string
  status: NotificationDelivery['status']
  attempts: number
  next_attempt_at: Date
  last_status: number | null
  last_error: string | null
  created_at: Date
  delivered_at: Date | null
}

type Sent = 'first_sent_at' | 'exhausted_sent_at' | 'created_sent_at'

/** Only the host of a URL (or the domain of an address): the log never shows paths, queries or mailboxes. */
function targetLabel(channel: 'email' | 'webhook', target: string): string {
  if (channel === 'email') return target.split('@').pop() ?? ''
  try {
    return new URL(target).host
  } catch {
    return ''
  }
}

/** Notifications (see 005_library_monitor_notify.sql): what shares ask, where users want it, the delivery queue. */
export const notifyRepo = {
  async setShareNotify(q: Queryable, shareId: string, n: NotifyOptions): Promise<void> {
    if (n.downloads === 'off' && !n.expired) {
      await q.query(`DELETE FROM share_notify WHERE share_id = $1`, [shareId])
      return
    }
    await q.query(
      `INSERT INTO share_notify (share_id, downloads, expired) VALUES ($1, $2, $3)
       ON CONFLICT (share_id) DO UPDATE SET downloads = EXCLUDED.downloads, expired = EXCLUDED.expired`,
      [shareId, n.downloads, n.expired],
    )
  },

  async shareNotify(q: Queryable, shareId: string): Promise<NotifyOptions | null> {
    const rows = await q.query<NotifyOptions>(`SELECT downloads, expired FROM share_notify WHERE share_id = $1`, [shareId])
    return rows[0] ?? null
  },

  /** Marks a one-off notice as sent; true only for the one caller that marked it (instances race). */
  async claimOnce(q: Queryable, shareId: string, column: Sent): Promise<boolean> {
    const rows = await q.query(`UPDATE share_notify SET ${column} = now() WHERE share_id = $1 AND ${column} IS NULL RETURNING share_id`, [
      shareId,
    ])
    return rows.length === 1
  },

  /** Shares that asked to hear of expiring unused and just did; each returned once. */
  async claimExpired(q: Queryable, limit: number): Promise<string[]> {
    const rows = await q.query<{ share_id: string }>(
      `UPDATE share_notify n SET expired_sent_at = now()
       WHERE n.share_id IN (
         SELECT n2.share_id FROM share_notify n2 JOIN shares s2 ON s2.id = n2.share_id
         WHERE n2.expired AND n2.expired_sent_at IS NULL AND s2.expires_at <= now()
           AND NOT EXISTS (SELECT 1 FROM download_events e WHERE e.share_id = s2.id)
           AND (s2.deleted_at IS NULL OR s2.deleted_at >= s2.expires_at)
         LIMIT $1 FOR UPDATE OF n2 SKIP LOCKED)
       RETURNING n.share_id`,
      [limit],
    )
    return rows.map((r) => r.share_id)
  },

  async shareForNotice(q: Queryable, shareId: string): Promise<ShareForNotice | null> {
    const rows = await q.query<ShareForNotice>(
      `SELECT s.id, s.owner_user_id, u.email AS owner_email, s.source,
         (SELECT count(*) FROM download_events e WHERE e.share_id = s.id)::int8 AS downloads, s.max_downloads, s.expires_at,
         (SELECT f.name FROM files f WHERE f.share_id = s.id ORDER BY f.position LIMIT 1) AS name,
         (s.max_downloads IS NOT NULL AND s.downloads >= s.max_downloads) AS exhausted
       FROM shares s LEFT JOIN users u ON u.id = s.owner_user_id AND u.disabled_at IS NULL
       WHERE s.id = $1`,
      [shareId],
    )
    return rows[0] ?? null
  },

  async channels(q: Queryable, userId: string): Promise<ChannelsRow | null> {
    const rows = await q.query<ChannelsRow>(
      `SELECT user_id, email, webhook_url, webhook_secret FROM notification_channels WHERE user_id = $1`,
      [userId],
    )
    return rows[0] ?? null
  },

  async saveChannels(q: Queryable, c: ChannelsRow): Promise<ChannelsRow> {
    const rows = await q.query<ChannelsRow>(
      `INSERT INTO notification_channels (user_id, email, webhook_url, webhook_secret, updated_at) VALUES ($1, $2, $3, $4, now())
       ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, webhook_url = EXCLUDED.webhook_url, webhook_secret = EXCLUDED.webhook_secret, updated_at = now()
       RETURNING user_id, email, webhook_url, webhook_secret`,
      [c.user_id, c.email, c.webhook_url, c.webhook_secret],
    )
    return rows[0]!
  },

  async enqueue(q: Queryable, deliveries: NewDelivery[]): Promise<void> {
    for (const d of deliveries) {
      await q.query(
        `INSERT INTO notification_deliveries (id, channel, target, signer, event, share_id, payload, status) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, 'pending')`,
        [d.id, d.channel, d.target, d.signer, d.event, d.shareId, JSON.stringify(d.payload)],
      )
    }
  },

  /**
   * Takes due deliveries for one attempt (SKIP LOCKED: instances share the queue). A delivery whose
   * sender died keeps its lock until `lockSeconds` pass, then it is due again: nothing is lost.
   */
  async claimDue(q: Queryable, limit: number, lockSeconds: number): Promise<DeliveryRow[]> {
    return q.query<DeliveryRow>(
      `UPDATE notification_deliveries SET status = 'sending', attempts = attempts + 1, locked_until = now() + make_interval(secs => $2)
       WHERE id IN (
         SELECT id FROM notification_deliveries
         WHERE status IN ('pending', 'sending') AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now())
         ORDER BY next_attempt_at, created_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [limit, lockSeconds],
    )
  },

  async delivered(q: Queryable, id: string, status: number | null): Promise<void> {
    await q.query(
      `UPDATE notification_deliveries SET status = 'delivered', delivered_at = now(), locked_until = NULL, last_status = $2, last_error = NULL WHERE id = $1`,
      [id, status],
    )
  },

  /** A failed attempt: again after `retryMs`, or given up (`final`). */
  async attemptFailed(
    q: Queryable,
    id: string,
    o: { status: number | null; error: string; retryMs: number; final: boolean },
  ): Promise<void> {
    await q.query(
      `UPDATE notification_deliveries SET status = $2, locked_until = NULL, last_status = $3, last_error = $4,
         next_attempt_at = now() + make_interval(secs => $5)
       WHERE id = $1`,
      [id, o.final ? 'failed' : 'pending', o.status, o.error.slice(0, 500), o.retryMs / 1000],
    )
  },

  async list(q: Queryable, query: DeliveriesQuery): Promise<{ items: NotificationDelivery[]; total: number }> {
    const where = query.status === 'all' ? 'TRUE' : query.status === 'pending' ? `status IN ('pending', 'sending')` : `status = $3`
    const params: unknown[] = [query.limit, query.offset]
    if (query.status === 'delivered' || query.status === 'failed') params.push(query.status)
    const rows = await q.query<DeliveryRow>(
      `SELECT * FROM notification_deliveries WHERE ${where} ORDER BY created_at DESC, id LIMIT $1 OFFSET $2`,
      params,
    )
    const [count] = await q.query<{ n: number }>(
      `SELECT count(*)::int8 AS n FROM notification_deliveries WHERE ${where.replace('$3', '$1')}`,
      params.slice(2),
    )
    return {
      items: rows.map((r) => ({
        id: r.id,
        channel: r.channel,
        target: targetLabel(r.channel, r.target),
        event: r.event,
        shareId: r.share_id,
        status: r.status,
        attempts: r.attempts,
        lastStatus: r.last_status,
        lastError: r.last_error,
        createdAt: new Date(r.created_at).toISOString(),
        nextAttemptAt: r.status === 'pending' || r.status === 'sending' ? new Date(r.next_attempt_at).toISOString() : null,
        deliveredAt: r.delivered_at ? new Date(r.delivered_at).toISOString() : null,
      })),
      total: count?.n ?? 0,
    }
  },
}
