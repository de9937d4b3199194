import { BootstrapQuery, SignInQuery } from '@sharesync/protocol'
import express, { type Request, type Response } from 'express'
import { ZodError } from 'zod'
import type { Deps } from '../deps'
import { AppError, isConnectionError } from '../http/app-error'
import { signInWithGoogle, signInWithOidc, useBootstrapToken } from './auth.service'
import { OidcProviders } from './oidc'
import { GoogleAuth } from './google.strategy'
import { safeReturnTo } from './return-to'
import { requireUser, SESSION_COOKIE } from './session.middleware'

const PENDING_SIGN_IN_MS = 15 * 60_000

/**
 * Sign-in, sign-out and the signed-in user:
 *   GET  /api/auth/google            -> Google (state + PKCE kept in the session)
 *   GET  /api/auth/google/callback   -> back from Google: a fresh session, then returnTo
 *   GET  /api/auth/oidc/:provider    -> an OpenID Connect provider (state, nonce and PKCE kept in the session)
 *   GET  /api/auth/oidc/:provider/callback -> back from it: the ID token validated, a fresh session, then returnTo
 *   GET  /api/auth/bootstrap?token=  -> the one-time admin link (printed at startup or by `pnpm admin:link`);
 *                                       a used one sends a browser to the page that says what to do
 *   POST /api/auth/logout            -> the session is destroyed
 *   GET  /api/me                     -> { id, email, name, avatarUrl, role } or 401
 * (Promoting and demoting admins is an admin route: backend/src/admin/admin.routes.ts.)
 */
export function authRouter(deps: Deps): express.Router {
  const router = express.Router()
  const google = deps.config.google ? new GoogleAuth(deps.config.google, deps.config) : null

  router.get('/api/auth/google', async (req, res) => {
    if (!google) throw new AppError('not_found', 'Google sign-in is not configured on this server.')
    const { returnTo } = SignInQuery.parse(req.query)
    req.session.returnTo = safeReturnTo(returnTo)
    // An anonymous session only carries the OAuth state: it dies soon unless sign-in completes
    // (a new one is made then). A signed-in user switching accounts keeps their session's lifetime.
    if (!req.session.userId) req.session.cookie.maxAge = PENDING_SIGN_IN_MS
    res.setHeader('Cache-Control', 'no-store')
    await google.start(req, res)
  })

  router.get('/api/auth/google/callback', async (req, res) => {
    if (!google) throw new AppError('not_found', 'Google sign-in is not configured on this server.')
    res.setHeader('Cache-Control', 'no-store')
    // Without a code (or an error from Google) passport would start a new sign-in instead of failing.
    if (typeof req.query.code !== 'string' && typeof req.query.error !== 'string') {
      throw new AppError('state_invalid', 'The sign-in request could not be verified.')
    }
    const outcome = await google.finish(req, res)
    switch (outcome.kind) {
      case 'state_invalid':
        throw new AppError('state_invalid', outcome.message)
      case 'cancelled':
        return res.redirect(302, '/')
      case 'error':
        return res.redirect(302, signInFailed(providerError(outcome.error)))
      case 'profile': {
        let user
        try {
          user = await signInWithGoogle(deps, outcome.profile)
        } catch (err) {
          // A person's problem (unverified email, disabled account) is shown by the web app, not as JSON.
          if (err instanceof AppError && err.status < 500) return res.redirect(302, signInFailed(err))
          throw err
        }
        const returnTo = safeReturnTo(req.session.returnTo)
        await startSession(req, user.id)
        return res.redirect(302, returnTo)
      }
    }
  })

  const oidc = new OidcProviders(deps.config)
  const provider = (req: Request) => (typeof req.params.provider === 'string' ? req.params.provider : '')

  router.get('/api/auth/oidc/:provider', async (req, res) => {
    const { returnTo } = SignInQuery.parse(req.query)
    const url = await oidc.start(req, provider(req))
    req.session.returnTo = safeReturnTo(returnTo)
    if (!req.session.userId) req.session.cookie.maxAge = PENDING_SIGN_IN_MS
    res.setHeader('Cache-Control', 'no-store')
    res.redirect(302, url)
  })

  router.get('/api/auth/oidc/:provider/callback', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store')
    oidc.provider(provider(req))
    // The person said no at the provider: back to the app, nothing changed.
    if (typeof req.query.error === 'string' && typeof req.query.code !== 'string') {
      delete req.session.oidc
      return res.redirect(302, '/')
    }
    let user
    try {
      user = await signInWithOidc(deps, await oidc.finish(req, provider(req)))
    } catch (err) {
      // A failed check or a person's problem is shown by the web app; a replayed state is an error answer.
      if (err instanceof AppError && err.status < 500 && err.code !== 'state_invalid') {
        deps.logger.info({ code: err.code, provider: provider(req) }, 'OIDC sign-in refused')
        return res.redirect(302, signInFailed(err))
      }
      throw err
    }
    const returnTo = safeReturnTo(req.session.returnTo)
    await startSession(req, user.id)
    res.redirect(302, returnTo)
  })

  router.get('/api/auth/bootstrap', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store')
    res.setHeader('Referrer-Policy', 'no-referrer')
    let user
    try {
      const { token } = BootstrapQuery.parse(req.query)
      user = await useBootstrapToken(deps, token)
    } catch (err) {
      // A person who opened a used or mangled link gets a page that says how to get a new one.
      if (req.get('accept')?.includes('text/html') && (err instanceof ZodError || (err instanceof AppError && err.code === 'admin_link_used'))) {
        return res.redirect(302, '/admin/link-used')
      }
      throw err
    }
    await startSession(req, user.id)
    res.redirect(302, '/admin')
  })

  router.post('/api/auth/logout', async (req, res) => {
    await endSession(req, res)
    res.status(204).end()
  })

  router.get('/api/me', (req, res) => {
    res.setHeader('Cache-Control', 'no-store')
    res.json(requireUser(req))
  })

  return router
}

/** A new session id at sign-in (no fixation): the old session, and anything in it, is dropped. */
function startSession(req: Request, userId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    req.session.regenerate((err: unknown) => {
      if (err) return reject(err)
      req.session.userId = userId
      req.session.save((e: unknown) => (e ? reject(e) : resolve()))
    })
  })
}

/** Sign-out destroys the session row and the cookie; a stolen copy of the cookie is then worthless. */
function endSession(req: Request, res: Response): Promise<void> {
  res.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax' })
  if (!req.session) return Promise.resolve()
  return new Promise((resolve, reject) => req.session.destroy((err: unknown) => (err ? reject(err) : resolve())))
}

/** Back to the app with only an error code (no server text in the URL); the web app words it. */
function signInFailed(err: AppError): string {
  return `/?signin_error=${encodeURIComponent(err.code)}`
}

function providerError(err: unknown): AppError {
  if (err instanceof AppError) return err
  const e = err as { oauthError?: unknown }
  if (isConnectionError(err) || isConnectionError(e?.oauthError)) {
    return new AppError('auth_provider_unavailable', 'Google sign-in is unavailable right now, please try again shortly.')
  }
  return new AppError('forbidden', 'Google did not confirm the sign-in. Please try again.')
}
