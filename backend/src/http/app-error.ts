import { ERRORS, type ErrorCode } from '@sharesync/protocol'

/** An error a client should see: a code from the one error table and its HTTP status. */
export class AppError extends Error {
  readonly status: number
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: { retryAfter?: number; details?: unknown; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    // `cause` is for the server's log and the tests' output; clients see only the code and message.
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause })
    this.name = 'AppError'
    this.status = ERRORS[code]
  }
}

/** One 404 for unknown, expired, exhausted and deleted shares: ids cannot be probed. */
export const shareNotFound = () => new AppError('share_not_found', 'This link has expired or does not exist.')

const DEPENDENCY_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN', '57P01', '57P03', '08006', '08001', '08003'])

/** True for errors that mean "a dependency is down" rather than "a bug". */
export function isConnectionError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false
  const e = err as { code?: unknown; name?: unknown; cause?: unknown; errors?: unknown; $metadata?: unknown; message?: unknown }
  if (typeof e.code === 'string' && DEPENDENCY_CODES.has(e.code)) return true
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return true
  if (typeof e.message === 'string' && /Connection terminated|connect ECONNREFUSED|socket hang up|Client has encountered a connection error/i.test(e.message)) return true
  if (Array.isArray(e.errors) && e.errors.some(isConnectionError)) return true
  return e.cause !== undefined && e.cause !== err && isConnectionError(e.cause)
}

/** Wraps a dependency call so "down" becomes a 503 with the dependency named, never a 500. */
export async function guardDependency<T>(code: 'storage_unavailable' | 'database_unavailable' | 'redis_unavailable', work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (err) {
    if (!(err instanceof AppError) && isConnectionError(err)) {
      throw new AppError(code, `${code.split('_')[0]} is unavailable, please try again shortly.`, { cause: err })
    }
    throw err
  }
}
