import type { ErrorRequestHandler, Request, RequestHandler } from 'express'
import type { Logger } from 'pino'
import { ZodError } from 'zod'
import { AppError, isConnectionError } from './app-error'
import { zodSentence } from './zod-message'

/** Unknown routes under /api answer the JSON error shape, not an HTML page. */
export const apiNotFound: RequestHandler = (_req, _res, next) => {
  next(new AppError('not_found', 'No such route.'))
}

/** Requests whose 4xx is noise, not news (a malformed URL): their request log line is written at debug. */
const quiet = new WeakSet<object>()
export const quietClientError = (res: object): boolean => quiet.has(res)

export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err
  // A path the router cannot percent-decode (`/api/shares/%E0%A4%A`): the client's mistake.
  if (err instanceof URIError) return new AppError('invalid_input', 'The URL is not valid percent-encoding.')
  if (err instanceof ZodError) {
    return new AppError('invalid_input', zodSentence(err), {
      details: err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    })
  }
  const e = err as { type?: string; status?: number; expose?: boolean }
  if (e?.type === 'entity.parse.failed') return new AppError('invalid_json', 'The request body is not valid JSON.')
  if (e?.type === 'entity.too.large') return new AppError('too_large', 'The request body is too large.')
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return new AppError('unsupported_media_type', 'Unsupported body encoding.')
  if (e?.expose && typeof e.status === 'number' && e.status >= 400 && e.status < 500) return new AppError('invalid_input', 'The request could not be read.')
  if (isConnectionError(err)) return new AppError('database_unavailable', 'A dependency is unavailable, please try again shortly.')
  return new AppError('internal', 'Something went wrong on our side.')
}

/**
 * An error answered before the body was read (e.g. 413 mid-upload): read and drop the rest for a
 * few seconds so the client sees the answer instead of a connection reset, then close if it is
 * still sending. Not `Connection: close`: Node destroys such a socket as soon as the answer is
 * written, and the client, still sending, gets a reset that can discard the answer it had not read.
 */
function discardBody(req: Request) {
  req.unpipe()
  req.resume()
  setTimeout(() => {
    if (!req.complete) req.destroy()
  }, 5000).unref()
}

/** The one mapping point: AppError, zod errors and unknown errors -> the JSON shape of API.md. */
export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const appError = toAppError(err)
    if (appError.status >= 500) logger.error({ err, req: { id: res.getHeader('X-Request-Id'), method: req.method } }, 'request failed')
    else if (err instanceof URIError) quiet.add(res)
    if (res.headersSent) {
      res.destroy()
      return
    }
    if (!req.complete && !req.destroyed) discardBody(req)
    for (const [k, v] of Object.entries(appError.extra.headers ?? {})) res.setHeader(k, v)
    if (appError.extra.retryAfter !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(appError.extra.retryAfter))))
    const details = appError.status < 500 ? appError.extra.details : undefined
    // Ends with a newline: curl prints it (--fail-with-body) and the shell prompt stays on its own line.
    const body = { error: { code: appError.code, message: appError.message, ...(details ? { details } : {}) } }
    res.status(appError.status).type('application/json').send(`${JSON.stringify(body)}\n`)
  }
}
