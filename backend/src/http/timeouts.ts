import type { Request, RequestHandler, Response } from 'express'
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
  // One timer looks at every body still arriving (a timer per request cost more than the check).
  const watched = new Set<Watch>()
  let timer: NodeJS.Timeout | null = null
  const sweep = () => {
    const now = Date.now()
    for (const w of watched) if (!check(w, now, http.idleTimeoutMs)) watched.delete(w)
    if (watched.size === 0 && timer) {
      clearInterval(timer)
      timer = null
    }
  }
  return (req, res, next) => {
    if (req.complete) return next()
    const started = Date.now()
    const deadline = req.is(['application/json', 'application/*+json']) ? started + http.requestTimeoutMs : Infinity
    const w: Watch = { req, res, deadline, lastRead: req.socket.bytesRead, quietSince: started }
    watched.add(w)
    if (!timer) {
      timer = setInterval(sweep, checkEvery(http.idleTimeoutMs))
      timer.unref()
    }
    res.once('close', () => watched.delete(w))
    next()
  }
}

interface Watch {
  req: Request
  res: Response
  deadline: number
  lastRead: number
  quietSince: number
}

/** false once the body no longer needs watching (complete, gone, or cut now). */
function check(w: Watch, now: number, idleTimeoutMs: number): boolean {
  const { req, res } = w
  if (req.complete || req.destroyed) return false
  const read = req.socket.bytesRead
  const heldBack = req.isPaused() || req.readableLength >= req.readableHighWaterMark
  if (read !== w.lastRead || heldBack) {
    w.lastRead = read
    w.quietSince = now
  }
  if (now >= w.deadline) cut(req, res, new AppError('request_timeout', 'The request body took too long to arrive.'))
  else if (now - w.quietSince >= idleTimeoutMs) cut(req, res, new AppError('request_timeout', 'The request body stalled.'))
  else return true
  return false
}

/** Answers 408 (when nothing was answered yet) and closes the connection. */
function cut(req: { destroy(): void }, res: Response, error: AppError) {
  if (res.headersSent) return req.destroy()
  res.setHeader('Connection', 'close')
  res.status(error.status).json({ error: { code: error.code, message: error.message } })
  res.once('finish', () => req.destroy())
}
