import type { Request } from 'express'
import * as oidc from 'openid-client'
import type { Config, OidcProviderConfig } from '../config'
import { AppError, isConnectionError } from '../http/app-error'
import { baseUrl } from '../http/base-url'
import type { OidcIdentity } from './auth.service'

declare module 'express-session' {
  interface SessionData {
    /** a pending OIDC sign-in: the provider and the checks its answer must pass */
    oidc?: { provider: string; state: string; nonce: string; verifier: string }
  }
}

/**
 * Generic OpenID Connect sign-in with openid-client: discovery from the issuer (on first use, retried
 * after a failure, so a provider that is down does not stop the server), authorization-code flow with
 * state, nonce and PKCE (S256) kept in the session, and the ID token validated by openid-client
 * (signature from the provider's JWKS, issuer, audience, expiry, nonce).
 */
export class OidcProviders {
  private readonly discovered = new Map<string, Promise<oidc.Configuration>>()

  constructor(private readonly config: Pick<Config, 'oidc' | 'publicUrl' | 'port'> & Config) {}

  list(): OidcProviderConfig[] {
    return this.config.oidc
  }

  provider(id: string): OidcProviderConfig {
    const p = this.config.oidc.find((x) => x.id === id)
    if (!p) throw new AppError('not_found', 'No such sign-in provider on this server.')
    return p
  }

  private configuration(p: OidcProviderConfig): Promise<oidc.Configuration> {
    let found = this.discovered.get(p.id)
    if (!found) {
      // Plain http issuers are for a provider on the same host or network (and tests); https otherwise.
      const insecure = p.issuer.startsWith('http://')
      found = oidc.discovery(new URL(p.issuer), p.clientId, p.clientSecret, undefined, insecure ? { execute: [oidc.allowInsecureRequests] } : undefined)
      found.catch(() => this.discovered.delete(p.id))
      this.discovered.set(p.id, found)
    }
    return found.catch((err: unknown) => {
      throw new AppError('auth_provider_unavailable', `${p.name} sign-in is unavailable right now, please try again shortly.`, { details: { cause: (err as Error).message } })
    })
  }

  private redirectUri(req: Request, p: OidcProviderConfig): string {
    return `${baseUrl(this.config, req)}/api/auth/oidc/${p.id}/callback`
  }

  /** The provider's authorization URL; the checks go into the session. */
  async start(req: Request, id: string): Promise<string> {
    const p = this.provider(id)
    const conf = await this.configuration(p)
    const verifier = oidc.randomPKCECodeVerifier()
    const state = oidc.randomState()
    const nonce = oidc.randomNonce()
    req.session.oidc = { provider: p.id, state, nonce, verifier }
    return oidc
      .buildAuthorizationUrl(conf, {
        redirect_uri: this.redirectUri(req, p),
        scope: p.scopes,
        state,
        nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      })
      .toString()
  }

  /**
   * Back from the provider: the pending checks are taken from the session (used once), the code is
   * exchanged and the ID token validated. A missing or replayed state is state_invalid; a token that
   * fails validation (wrong nonce, issuer, audience, signature) is forbidden.
   */
  async finish(req: Request, id: string): Promise<OidcIdentity> {
    const p = this.provider(id)
    const pending = req.session.oidc
    delete req.session.oidc
    if (!pending || pending.provider !== p.id || req.query.state !== pending.state) {
      throw new AppError('state_invalid', 'The sign-in request could not be verified.')
    }
    const conf = await this.configuration(p)
    const current = new URL(this.redirectUri(req, p))
    current.search = new URL(req.originalUrl, 'http://x').search
    let tokens
    try {
      tokens = await oidc.authorizationCodeGrant(conf, current, { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true })
    } catch (err) {
      if (isConnectionError(err)) throw new AppError('auth_provider_unavailable', `${p.name} sign-in is unavailable right now, please try again shortly.`)
      throw new AppError('forbidden', `${p.name} did not confirm the sign-in.`, { details: { cause: (err as Error).message } })
    }
    const claims = tokens.claims()
    if (!claims) throw new AppError('forbidden', `${p.name} sent no ID token.`)
    let info: Record<string, unknown> = { ...claims }
    // Some providers put e-mail and groups in userinfo only.
    if (typeof claims.email !== 'string' || (p.adminValue && claims[p.adminClaim] === undefined)) {
      const user = await oidc.fetchUserInfo(conf, tokens.access_token, claims.sub).catch(() => null)
      if (user) info = { ...user, ...claims, ...(claims.email === undefined ? { email: user.email, email_verified: user.email_verified } : {}), [p.adminClaim]: claims[p.adminClaim] ?? user[p.adminClaim] }
    }
    const role = info[p.adminClaim]
    const admin = p.adminValue !== null && (Array.isArray(role) ? role.includes(p.adminValue) : role === p.adminValue)
    const verified = info.email_verified
    return {
      issuer: claims.iss,
      subject: claims.sub,
      email: typeof info.email === 'string' ? info.email : '',
      emailVerified: verified === true || verified === 'true',
      name: typeof info.name === 'string' ? info.name : '',
      avatarUrl: typeof info.picture === 'string' && info.picture.startsWith('https://') ? info.picture : null,
      admin,
    }
  }
}
