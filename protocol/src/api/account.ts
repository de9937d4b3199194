import { z } from 'zod'
import { BootstrapQuery, ClaimSharesRequest, ClaimSharesResponse, Me, MyShare, MySharesResponse, SignInQuery, UpdateMyShareRequest } from '../auth'
import { DownloadId, DownloadsQuery, MonitoredDownload } from '../monitor'
import { NotificationChannels, NotificationChannelsRequest, NotifyOptions, SetShareNotifyRequest } from '../notifications'
import { pageOf } from '../admin'
import { ShareId } from '../shares'
import { routes } from './route'

const share = z.object({ id: ShareId })
const toApp = { description: 'back to the web app (or on to the provider)', headers: { Location: 'where the browser goes next' } }

/** Sign-in, the signed-in user, "My shares", notifications and the owner's download monitor. */
export const accountRoutes = routes([
  {
    method: 'get', path: '/api/auth/google', tag: 'Sign-in', auth: 'session',
    summary: 'Start Google sign-in (state and PKCE kept in the session)', query: SignInQuery,
    responses: { 302: toApp }, errors: ['not_found'],
  },
  {
    method: 'get', path: '/api/auth/google/callback', tag: 'Sign-in', auth: 'session',
    summary: 'Back from Google: a fresh session, then to returnTo',
    query: z.object({ code: z.string().optional(), state: z.string().optional(), error: z.string().optional() }),
    responses: { 302: toApp }, errors: ['state_invalid', 'not_found', 'auth_provider_unavailable'],
  },
  {
    method: 'get', path: '/api/auth/oidc/:provider', tag: 'Sign-in', auth: 'session',
    summary: 'Start sign-in with an OpenID Connect provider (state, nonce and PKCE kept in the session)',
    params: z.object({ provider: z.string().max(32) }), query: SignInQuery,
    responses: { 302: toApp }, errors: ['not_found', 'auth_provider_unavailable'],
  },
  {
    method: 'get', path: '/api/auth/oidc/:provider/callback', tag: 'Sign-in', auth: 'session',
    summary: 'Back from the provider: the ID token validated (issuer, audience, nonce, signature), a fresh session, then returnTo',
    params: z.object({ provider: z.string().max(32) }),
    query: z.object({ code: z.string().optional(), state: z.string().optional(), error: z.string().optional() }),
    responses: { 302: toApp }, errors: ['state_invalid', 'not_found', 'auth_provider_unavailable'],
  },
  {
    method: 'get', path: '/api/auth/bootstrap', tag: 'Sign-in', auth: 'session',
    summary: 'The one-time admin sign-in link printed at startup or by `pnpm admin:link`', query: BootstrapQuery,
    description: 'A used, replaced, expired or mangled link sends a browser (`Accept: text/html`) to `/admin/link-used`, a page naming the recovery command; other clients get the error.',
    responses: { 302: toApp }, errors: ['invalid_input', 'admin_link_used'],
  },
  {
    method: 'post', path: '/api/auth/logout', tag: 'Sign-in', auth: 'session',
    summary: 'Sign out (the session is destroyed)', responses: { 204: { description: 'signed out' } },
  },
  {
    method: 'get', path: '/api/me', tag: 'Account', auth: 'user', scope: 'read',
    summary: 'The signed-in user', responses: { 200: Me }, errors: ['unauthorized'],
  },
  {
    method: 'get', path: '/api/me/shares', tag: 'Account', auth: 'user', scope: 'read',
    summary: "The signed-in user's shares, newest first", responses: { 200: MySharesResponse }, errors: ['unauthorized'],
  },
  {
    method: 'post', path: '/api/me/shares/claim', tag: 'Account', auth: 'user', scope: 'manage',
    summary: 'Take ownership of shares made before signing in (by their owner tokens)', body: ClaimSharesRequest,
    responses: { 200: ClaimSharesResponse }, errors: ['unauthorized', 'invalid_input'],
  },
  {
    method: 'patch', path: '/api/me/shares/:id', tag: 'Account', auth: 'user', scope: 'manage',
    summary: "Change one of the user's shares' expiry", params: share, body: UpdateMyShareRequest,
    responses: { 200: MyShare }, errors: ['unauthorized', 'invalid_input', 'share_not_found'],
  },
  {
    method: 'delete', path: '/api/me/shares/:id', tag: 'Account', auth: 'user', scope: 'delete',
    summary: "Delete one of the user's shares", params: share,
    responses: { 204: { description: 'deleted' } }, errors: ['unauthorized', 'share_not_found'],
  },
  {
    method: 'get', path: '/api/me/notifications', tag: 'Notifications', auth: 'user', scope: 'read',
    summary: "Where the user's notifications go", responses: { 200: NotificationChannels }, errors: ['unauthorized'],
  },
  {
    method: 'put', path: '/api/me/notifications', tag: 'Notifications', auth: 'user', scope: 'manage',
    summary: 'Set e-mail and webhook notifications (and rotate the webhook secret)', body: NotificationChannelsRequest,
    responses: { 200: NotificationChannels }, errors: ['unauthorized', 'invalid_input', 'webhook_target_refused'],
  },
  {
    method: 'get', path: '/api/me/shares/:id/notify', tag: 'Notifications', auth: 'user', scope: 'read',
    summary: 'What one of the user\'s shares reports', params: share,
    responses: { 200: NotifyOptions }, errors: ['unauthorized', 'share_not_found'],
  },
  {
    method: 'put', path: '/api/me/shares/:id/notify', tag: 'Notifications', auth: 'user', scope: 'manage',
    summary: 'Choose what one of the user\'s shares reports', params: share, body: SetShareNotifyRequest,
    responses: { 200: NotifyOptions }, errors: ['unauthorized', 'invalid_input', 'share_not_found'],
  },
  {
    method: 'get', path: '/api/me/downloads', tag: 'Download monitor', auth: 'user', scope: 'read',
    summary: "Downloads of the user's shares that the app streams (live and finished)", query: DownloadsQuery,
    responses: { 200: pageOf(MonitoredDownload) }, errors: ['unauthorized', 'invalid_input'],
  },
  {
    method: 'post', path: '/api/me/downloads/:id/stop', tag: 'Download monitor', auth: 'user', scope: 'manage',
    summary: 'Stop a download of one of the user\'s shares', params: z.object({ id: DownloadId }),
    responses: { 204: { description: 'stopped' } }, errors: ['unauthorized', 'download_not_active'],
  },
])
