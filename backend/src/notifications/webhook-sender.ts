import { createHmac } from 'node:crypto'
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import { MAX_WEBHOOK_URL_LENGTH, WEBHOOK_HEADERS } from '@sharesync/protocol'
import ipaddr from 'ipaddr.js'
import { AppError } from '../http/app-error'

/**
 * Webhook URLs are chosen by users, so they are attacker-controlled: the server must not become a
 * way to reach what only it can reach (SSRF). Only http(s), no credentials in the URL, and —
 * unless WEBHOOK_ALLOW_PRIVATE is set — only public unicast addresses: the name is resolved by our
 * own lookup at connection time and every address it yields is checked there, so a DNS answer that
 * changes between the check and the connection (rebinding) is caught too. Redirects are never
 * followed; requests are time-limited.
 */

const refused = (message: string) => new AppError('webhook_target_refused', message)

/** An address webhooks may reach: a public unicast address (IPv4-mapped IPv6 judged as IPv4). */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false
  let parsed = ipaddr.parse(address)
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address()
  return parsed.range() === 'unicast'
}

/** Checks a webhook URL's shape and, unless private targets are allowed, a literal address or local name. */
export function checkWebhookUrl(text: string, allowPrivate: boolean): URL {
  if (text.length > MAX_WEBHOOK_URL_LENGTH) throw refused(`A webhook URL has at most ${MAX_WEBHOOK_URL_LENGTH} characters.`)
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw refused('This is not a URL.')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refused('Webhooks are sent over http or https only.')
  if (url.username || url.password) throw refused('Put no user name or password in a webhook URL; the signature authenticates the sender.')
  if (!allowPrivate) {
    const host = url.hostname.replace(/^\[|\]$/g, '')
    if (ipaddr.isValid(host) && !isPublicAddress(host)) throw refused('Webhooks cannot be sent to private, loopback or reserved addresses.')
    if (
      host === 'localhost' ||
      host.endsWith('.localhost') ||
      host.endsWith('.local') ||
      host.endsWith('.internal') ||
      !host.includes('.')
    ) {
      throw refused('Webhooks cannot be sent to local host names.')
    }
  }
  return url
}

/** dns.lookup that answers only with addresses webhooks may reach (or fails the connection). */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0)
      const allowed = allowPrivate ? addresses : addresses.filter((a) => isPublicAddress(a.address))
      if (allowed.length === 0 || allowed.length !== addresses.length) {
        const e = Object.assign(new Error(`${hostname} resolves to a private, loopback or reserved address`), { code: 'EWEBHOOKTARGET' })
        return callback(e, '', 0)
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed)
      callback(null, allowed[0]!.address, allowed[0]!.family)
    })
  }
}

/** `v1=` + hex HMAC-SHA256 over `${timestamp}.${body}`: what receivers recompute to verify a POST. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}

export interface WebhookAttempt {
  /** HTTP status, when the receiver answered */
  status: number | null
  ok: boolean
  error?: string
}

/**
 * POSTs one signed JSON body. 2xx is success; anything else (3xx included: redirects are not
 * followed), a refused address, a timeout or a network error is a failed attempt.
 */
export function postWebhook(
  target: string,
  o: { secret: string; body: string; event: string; deliveryId: string; timeoutMs: number; allowPrivate: boolean; now?: number },
): Promise<WebhookAttempt> {
  let url: URL
  try {
    url = checkWebhookUrl(target, o.allowPrivate)
  } catch (err) {
    return Promise.resolve({ status: null, ok: false, error: err instanceof Error ? err.message : 'refused' })
  }
  const timestamp = Math.floor((o.now ?? Date.now()) / 1000)
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: 'POST',
        lookup: guardedLookup(o.allowPrivate),
        timeout: o.timeoutMs,
        signal: AbortSignal.timeout(o.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(o.body),
          'user-agent': 'ShareSync-Webhook/1',
          [WEBHOOK_HEADERS.event]: o.event,
          [WEBHOOK_HEADERS.delivery]: o.deliveryId,
          [WEBHOOK_HEADERS.timestamp]: String(timestamp),
          [WEBHOOK_HEADERS.signature]: webhookSignature(o.secret, timestamp, o.body),
        },
      },
      (res: IncomingMessage) => {
        // The answer's body is not needed: read (and drop) a little of it so the connection can close cleanly.
        res.resume()
        const status = res.statusCode ?? 0
        const ok = status >= 200 && status < 300
        resolve({
          status,
          ok,
          error: ok ? undefined : status >= 300 && status < 400 ? `answered ${status} (redirects are not followed)` : `answered ${status}`,
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error(`no answer within ${o.timeoutMs} ms`)))
    req.on('error', (err: Error & { code?: string }) =>
      resolve({ status: null, ok: false, error: err.code === 'EWEBHOOKTARGET' ? err.message : err.message || 'network error' }),
    )
    req.end(o.body)
  })
}
