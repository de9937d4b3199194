import type { Express } from 'express'

/** What Express keeps of a route and of a mounted router (express 5 / router 2 internals, read only). */
interface Layer {
  route?: { path: unknown; methods: Record<string, boolean | undefined> }
  handle?: { stack?: Layer[] }
}

export interface DeclaredRoute {
  method: string
  /** the pattern as declared; a RegExp path (the web app's catch-all) is `RegExp` */
  path: string | RegExp
}

/**
 * Every route an Express app declares, nested routers included (they are all mounted at the root in
 * this app: a router's paths are full paths). `app.get` also answers HEAD; it is listed as GET only.
 */
export function declaredRoutes(app: Express): DeclaredRoute[] {
  const out: DeclaredRoute[] = []
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const path = layer.route.path
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (on && method !== '_all') out.push({ method, path: path instanceof RegExp ? path : String(path) })
        }
      } else if (Array.isArray(layer.handle?.stack)) {
        walk(layer.handle.stack)
      }
    }
  }
  // The typings describe layers loosely (handle is a function type); read them as the shapes above.
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack)
  return out
}
