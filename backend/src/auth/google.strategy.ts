import type { Request, Response } from 'express'
import passport from 'passport'
import { Strategy as GoogleStrategy, type Profile } from 'passport-google-oauth20'
import type { Config } from '../config'
import type { GoogleIdentity } from '../db/users.repo'

export interface GoogleProfile extends GoogleIdentity {
  emailVerified: boolean
}

/** What the callback leg ends with: a Google profile, the user cancelled, or the state check failed. */
export type GoogleOutcome =
  | { kind: 'profile'; profile: GoogleProfile }
  | { kind: 'cancelled' }
  | { kind: 'state_invalid'; message: string }
  | { kind: 'error'; error: unknown }

const STRATEGY = 'google'

/**
 * Google sign-in with passport-google-oauth20: authorization-code flow, `state` and PKCE (S256)
 * kept in the session. The three endpoints come from config (GOOGLE_AUTH_URL, GOOGLE_TOKEN_URL,
 * GOOGLE_USERINFO_URL) so a proxy or a local OAuth2 server can stand in for Google.
 * Passport is used for the protocol only: sessions are ours (see auth.routes.ts).
 */
export class GoogleAuth {
  private readonly passport = new passport.Passport()

  constructor(google: NonNullable<Config['google']>, config: Pick<Config, 'publicUrl' | 'trustProxy'>) {
    const callbackURL = `${config.publicUrl ?? ''}/api/auth/google/callback`
    this.passport.use(
      STRATEGY,
      new GoogleStrategy(
        {
          clientID: google.clientId,
          clientSecret: google.clientSecret,
          authorizationURL: google.authUrl,
          tokenURL: google.tokenUrl,
          userProfileURL: google.userInfoUrl,
          // Relative without PUBLIC_URL: resolved from the request's own host (and proto behind a trusted proxy).
          callbackURL,
          proxy: config.trustProxy !== false,
          scope: ['openid', 'email', 'profile'],
          state: true,
          pkce: true,
        },
        (_accessToken: string, _refreshToken: string, profile: Profile, done: (err: unknown, user?: Express.User) => void) => {
          done(null, { profile: toIdentity(profile) })
        },
      ),
    )
  }

  /** First leg: stores state + code verifier in the session and redirects to the authorization URL. */
  start(req: Request, res: Response): Promise<void> {
    return new Promise((resolve, reject) => {
      const mw = this.passport.authenticate(STRATEGY, { session: false, prompt: 'select_account' }, () => {
        // Only reached on failure to build the request (e.g. no session); redirects end the response.
        reject(new Error('Google sign-in could not start'))
      })
      res.once('finish', () => resolve())
      mw(req, res, (err: unknown) => (err ? reject(err) : resolve()))
    })
  }

  /** Second leg: checks state, exchanges the code (with the PKCE verifier) and fetches the profile. */
  finish(req: Request, res: Response): Promise<GoogleOutcome> {
    return new Promise((resolve) => {
      const mw = this.passport.authenticate(
        STRATEGY,
        { session: false },
        (err: unknown, user: { profile: GoogleProfile } | false, _info: unknown, status?: number) => {
          if (err) return resolve({ kind: 'error', error: err })
          if (user) return resolve({ kind: 'profile', profile: user.profile })
          // passport-oauth2 fails with 403 when the state is missing, wrong or already used.
          if (status === 403) return resolve({ kind: 'state_invalid', message: 'The sign-in request could not be verified.' })
          resolve({ kind: 'cancelled' })
        },
      )
      mw(req, res, (err: unknown) => resolve({ kind: 'error', error: err }))
    })
  }
}

function toIdentity(p: Profile): GoogleProfile {
  const email = p.emails?.[0]
  const verified = email?.verified as unknown
  return {
    googleSub: p.id,
    email: email?.value ?? '',
    name: p.displayName ?? '',
    avatarUrl: p.photos?.[0]?.value ?? null,
    // Google sends a boolean; some proxies turn it into a string.
    emailVerified: verified === true || verified === 'true',
  }
}
