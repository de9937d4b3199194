import { accountRoutes } from './account'
import { adminRoutes } from './admin'
import { libraryRoutes } from './library'
import { opsRoutes } from './ops'
import type { RouteDoc } from './route'
import { sharesRoutes } from './shares'
import { sharingRoutes } from './sharing'
import { tokenRoutes } from './tokens'
import { requestRoutes } from './requests'

export * from './route'

/**
 * Every HTTP route of the server. To document a new route, add one entry to its feature's list (or a
 * new list here): method, Express path, tag, summary, auth (+ token scope), schemas, error codes.
 */
export const API_ROUTES: readonly RouteDoc[] = [...opsRoutes, ...sharesRoutes, ...sharingRoutes, ...accountRoutes, ...libraryRoutes, ...adminRoutes, ...tokenRoutes, ...requestRoutes]
