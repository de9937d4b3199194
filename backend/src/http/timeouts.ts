import type { RequestHandler, Response } from 'express'
import type { Config } from '../config'
import { AppError } from './app-error'

/** How often a request body's progress is looked at (a fraction of the idle timeout). */
const checkEvery = (idleMs: number) => Math.max(50, Math.min(1000, Math.floor(idleMs / 4)))

/**
 * Time limits on request bodies, per request:
 * - idle: a body that sends nothing for `idleTimeoutMs` while the app is ready to read more is cut
 *   with 408. Only silence counts, never the total: a phone on a slow link can take hours over a
 *   2 GB upload as long as bytes keep coming. Time the app itself holds the body back (storage
 *   slower than the client, so the stream is paused or its buffer full) is not silence.
 * - total: a JSON body (the app buffers it, 256 KB at most) must arrive within `requestTimeoutMs`.
 * Headers, keep-alive and idle connections are timed by Node's server itself (server-limits.ts).
 */
export function requestTimeouts(http: Pick<Config['http'], 'idleTimeoutMs' | 'requestTimeoutMs'>): RequestHandler {
  return (req, res, next) => {
    if (req.complete) return next()
    const started = Date.now()
    const deadline = req.is(['application/json', 'application/*+json']) ? started + http.requestTimeoutMs : Infinity
    let lastRead = req.socket.bytesRead
    let quietSince = started
    const timer = setInterval(() => {
      if (req.complete || req.destroyed) return clearInterval(timer)
      const now = Date.now()
      const read = req.socket.bytesRead
      const heldBack = req.isPaused() || req.readableLength >= req.readableHighWaterMark
      if (read !== lastRead || heldBack) {
        lastRead = read
        quietSince = now
      }
      if (now >= deadline) cut(req, res, timer, new AppError('request_timeout', 'The request body took too long to arrive.'))
      else if (now - quietSince >= http.idleTimeoutMs) cut(req, res, timer, new AppError('request_timeout', 'The request body stalled.'))
    }, checkEvery(http.idleTimeoutMs))
    timer.unref()
    res.once('close', () => clearInterval(timer))
    next()
  }
}

/** Answers 408 (when nothing was answered yet) and closes the connection. */
function cut(req: { destroy(): void }, res: Response, timer: NodeJS.Timeout, error: AppError) {
  clearInterval(timer)
  if (res.headersSent) return req.destroy()
  res.setHeader('Connection', 'close')
  res.status(error.status).json({ error: { code: error.code, message: error.message } })
  res.once('finish', () => req.destroy())
}
