import { randomUUID } from 'node:crypto'
import type { Request, RequestHandler, Response } from 'express'
import type { Level, Logger } from 'pino'
import { quietClientError } from './error-middleware'
import { routePattern } from './route-pattern'

/** Liveness and readiness probes arrive every few seconds: they get a request id, not a log line. */
const UNLOGGED = new Set(['/api/health', '/api/health/ready'])

/** The level of a finished request's log line: failures are errors, client mistakes news, the rest debug. */
export function requestLogLevel(res: Pick<Response, 'statusCode'>): Level {
  if (res.statusCode >= 500) return 'error'
  return res.statusCode >= 400 && !quietClientError(res) ? 'info' : 'debug'
}

/**
 * Every request gets an id (`X-Request-Id`), and one log line when its answer is done: the id, the
 * method, the status, the time taken and the route pattern it matched — never the URL or its path
 * (ids and tokens in paths are access keys). The line's object is only built when its level is
 * logged: at the default level a successful request costs an id and one listener.
 */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const id = randomUUID()
    res.setHeader('X-Request-Id', id)
    if (!UNLOGGED.has(req.url)) {
      const started = Date.now()
      res.once('close', () => logFinished(logger, req, res, id, started))
    }
    next()
  }
}

function logFinished(logger: Logger, req: Request, res: Response, id: string, started: number) {
  const level = requestLogLevel(res)
  if (!logger.isLevelEnabled(level)) return
  const line = { req: { id, method: req.method }, res: { statusCode: res.statusCode }, responseTime: Date.now() - started, route: routePattern(req) }
  if (res.statusCode >= 500) logger[level]({ ...line, err: new Error(`failed with status code ${res.statusCode}`) }, 'request errored')
  else logger[level](line, 'request completed')
}
