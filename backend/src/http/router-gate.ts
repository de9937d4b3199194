import type { RequestHandler, Router } from 'express'

/** What a router's stack tells about each layer (Express 5's router keeps the path it was given). */
interface StackLayer {
  rawPath?: unknown
  slash?: boolean
  route?: { path?: unknown }
}

/** The literal start of a route path (`/api/shares/:id` → `/api/shares/`), lower-cased as routing is case-insensitive. */
function literalStart(path: unknown): string | null {
  if (typeof path !== 'string') return null
  const end = path.search(/[:*?(){}[\]+\\]/)
  return (end === -1 ? path : path.slice(0, end)).toLowerCase()
}

/**
 * The path starts a router can answer, read from its stack, or null when some layer may answer any
 * path (a middleware mounted without a path, a regular-expression route, a stack this version of
 * Express does not describe): such a router is always entered.
 */
export function routerPrefixes(router: Router): string[] | null {
  const prefixes = new Set<string>()
  for (const layer of router.stack as StackLayer[]) {
    if (layer.slash) return null
    const paths = layer.route ? layer.route.path : layer.rawPath
    for (const path of Array.isArray(paths) ? paths : [paths]) {
      const start = literalStart(path)
      if (start === null || start === '' || start === '/') return null
      prefixes.add(start)
    }
  }
  return [...prefixes]
}

/**
 * A feature router mounted at the root, entered only by requests whose path starts like one of its
 * routes: a request passes the other routers without walking each one's stack (at load, routing
 * through every router was a good part of a request's cost). Order and matching stay Express's own.
 */
export function gatedRouter(router: Router): RequestHandler & Pick<Router, 'stack'> {
  const prefixes = routerPrefixes(router)
  if (!prefixes || prefixes.length === 0) return router
  const gate: RequestHandler = (req, res, next) => {
    const path = req.path.toLowerCase()
    return prefixes.some((p) => path.startsWith(p)) ? router(req, res, next) : next()
  }
  // The router's routes stay listed where Express lists them (what walks the app's routes finds them).
  return Object.assign(gate, { stack: router.stack })
}
