import type { IncomingMessage } from 'node:http'

/** What a request may carry once Express has routed it. */
interface Routed {
  route?: { path?: unknown }
  baseUrl?: string
}

/**
 * The Express route pattern a finished request matched (`/api/shares/:id`), never the raw URL:
 * share ids, file ids and tokens are access keys and stay out of logs and metric labels. The web
 * app's catch-all is `web-app`; anything no route matched is `unmatched`.
 */
export function routePattern(req: IncomingMessage): string {
  const routed = req as IncomingMessage & Routed
  const path = routed.route?.path
  if (typeof path === 'string') return `${routed.baseUrl ?? ''}${path}`
  return path instanceof RegExp ? 'web-app' : 'unmatched'
}
