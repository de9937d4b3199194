import type { ErrorBody, ErrorCode } from '@sharesync/protocol'
import { i18n } from '../i18n'
import { formatWait } from './format'

/** An error answered by the API in the `{ error: { code, message } }` shape of API.md (or a network failure). */
export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 when the request never got an answer (offline, server down). */
    readonly status: number,
    readonly code: ErrorCode | 'network_error' | 'unexpected_response',
    message: string,
    /** Seconds to wait, from Retry-After on 429/503. */
    readonly retryAfter?: number,
  ) {
    super(message)
    this.name = 'ApiError'
  }

  get isNetwork(): boolean {
    return this.status === 0
  }
}

export interface ApiOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  body?: unknown
  headers?: Record<string, string>
  signal?: AbortSignal
}

function isErrorBody(value: unknown): value is ErrorBody {
  if (!value || typeof value !== 'object' || !('error' in value)) return false
  const e = (value as { error: unknown }).error
  return !!e && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'string'
}

/**
 * JSON call to the ShareSync API. Resolves with the parsed body (undefined for 204), rejects with
 * ApiError carrying the server's error code so pages can react to `share_not_found`, `password_invalid`…
 */
export async function api<T>(path: string, opts: ApiOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers }
  let body: string | undefined
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(opts.body)
  }
  let res: Response
  try {
    res = await fetch(path, { method: opts.method ?? 'GET', headers, body, signal: opts.signal, credentials: 'same-origin' })
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err
    throw new ApiError(0, 'network_error', 'Could not reach the server. Check your connection.')
  }
  if (res.status === 204) return undefined as T
  const text = await res.text()
  let parsed: unknown = undefined
  try {
    parsed = text ? JSON.parse(text) : undefined
  } catch {
    parsed = undefined
  }
  if (!res.ok) {
    const retry = Number(res.headers.get('Retry-After'))
    const retryAfter = Number.isFinite(retry) && retry > 0 ? retry : undefined
    if (isErrorBody(parsed)) throw new ApiError(res.status, parsed.error.code, parsed.error.message, retryAfter)
    throw new ApiError(res.status, 'unexpected_response', `The server answered ${res.status}.`, retryAfter)
  }
  return parsed as T
}

/**
 * An API error in the user's language, translated by its code (the server's English message only
 * when the code has no translation).
 */
function translatedMessage(err: ApiError): string {
  const key = `errors.${err.code}`
  return i18n.exists(key) ? i18n.t(key, { status: err.status }) : err.message
}

/** A human sentence for any error, for alerts. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    const message = translatedMessage(err)
    if ((err.code === 'rate_limited' || err.code === 'quota_exceeded') && err.retryAfter) {
      return i18n.t('errors.retryIn', { message, when: formatWait(err.retryAfter) })
    }
    return message
  }
  if (err instanceof Error) return err.message
  return i18n.t('errors.generic')
}
