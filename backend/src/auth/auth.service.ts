import { randomBytes } from 'node:crypto'
import type { Role } from '@sharesync/protocol'
import type { Deps } from '../deps'
import { usersRepo } from '../db/users.repo'
import { AppError } from '../http/app-error'
import type { SessionUser } from '../http/viewer'
import { hashToken, newId } from '../shares/ids'
import type { GoogleProfile } from './google.strategy'
import { toSessionUser } from './session.middleware'

/** The local account the bootstrap link signs in as. */
export const LOCAL_ADMIN_EMAIL = 'admin@localhost'
const BOOTSTRAP_TTL_MS = 24 * 3_600_000
const UNIQUE_VIOLATION = '23505'

/**
 * Signs a Google account in: the account is found by Google's `sub` (never by e-mail), created on
 * first sign-in, refreshed, and made an admin when its (verified) email is in ADMIN_EMAILS. An e-mail
 * already used by another account refuses the sign-in (identity_conflict).
 */
export async function signInWithGoogle(deps: Deps, profile: GoogleProfile): Promise<SessionUser> {
  if (!profile.googleSub || !profile.email) {
    throw new AppError('forbidden', 'Google did not share an email address for this account.')
  }
  // The email keys the account and the admin role: only an address Google has verified can claim it.
  if (!profile.emailVerified) {
    throw new AppError('forbidden', 'This Google account has no verified email address.')
  }
  const email = profile.email.trim().toLowerCase()
  const promote = deps.config.adminEmails.includes(email)
  const identity = { ...profile, email }
  let row
  try {
    row = await usersRepo.upsertGoogleUser(deps.db, newId(), identity, promote)
  } catch (err) {
    if ((err as { code?: unknown }).code !== UNIQUE_VIOLATION) throw err
    // Two first sign-ins of one account at the same moment: the second finds the first's row.
    // Still a conflict: the e-mail belongs to another account, which an e-mail alone never claims.
    row = await usersRepo.upsertGoogleUser(deps.db, newId(), identity, promote).catch((again: unknown) => {
      if ((again as { code?: unknown }).code !== UNIQUE_VIOLATION) throw again
      deps.logger.warn('Google sign-in refused: its e-mail belongs to an account linked to another Google account')
      throw new AppError('identity_conflict', 'An account with this e-mail address already exists, signed in with a different Google account.')
    })
  }
  if (row.disabled_at) throw new AppError('account_disabled', 'This account has been disabled by an administrator.')
  deps.logger.info({ userId: row.id, role: row.role }, 'signed in with Google')
  return toSessionUser(row)
}

/** What an OpenID Connect provider vouched for, from a validated ID token (and userinfo). */
export interface OidcIdentity {
  issuer: string
  subject: string
  email: string
  emailVerified: boolean
  name: string
  avatarUrl: string | null
  /** the provider's role claim granted the admin role */
  admin: boolean
}

/**
 * Signs an OIDC identity in: found by (issuer, sub) only, created on first sign-in (an e-mail another
 * account has refuses it: identity_conflict), refreshed, made an admin by the provider's role claim
 * or a verified ADMIN_EMAILS address (never demoted here: a role an admin gave survives).
 */
export async function signInWithOidc(deps: Deps, id: OidcIdentity): Promise<SessionUser> {
  if (!id.email) throw new AppError('forbidden', 'The sign-in provider did not share an e-mail address for this account.')
  if (!id.emailVerified) throw new AppError('forbidden', 'The sign-in provider has not verified the e-mail address of this account.')
  const email = id.email.trim().toLowerCase()
  const promote = id.admin || deps.config.adminEmails.includes(email)
  const profile = { email, name: id.name, avatarUrl: id.avatarUrl }
  let row
  try {
    row = await deps.db.tx(async (q) => {
      const linked = await usersRepo.findByIdentity(q, id.issuer, id.subject)
      return linked ? usersRepo.refreshSignIn(q, linked.id, profile, promote) : usersRepo.insertWithIdentity(q, newId(), id.issuer, id.subject, profile, promote)
    })
  } catch (err) {
    if ((err as { code?: unknown }).code !== UNIQUE_VIOLATION) throw err
    deps.logger.warn('OIDC sign-in refused: its e-mail belongs to another account')
    throw new AppError('identity_conflict', 'An account with this e-mail address already exists, signed in another way.')
  }
  if (row.disabled_at) throw new AppError('account_disabled', 'This account has been disabled by an administrator.')
  deps.logger.info({ userId: row.id, role: row.role }, 'signed in with OpenID Connect')
  return toSessionUser(row)
}

/**
 * Admin without Google: when no admin exists and Google sign-in cannot make one (not configured, or
 * ADMIN_EMAILS empty), creates a one-time sign-in link for the operator, valid 24 hours. Only its
 * hash is stored; a new link revokes the previous unused ones. Returns the path to print, or null.
 * Once an admin exists it prints nothing (a lost admin uses the recovery command: `adminLink`).
 */
export async function ensureAdminBootstrap(deps: Pick<Deps, 'config' | 'db'>): Promise<string | null> {
  const { config, db } = deps
  if (config.google && config.adminEmails.length > 0) return null
  if ((await usersRepo.countActiveAdmins(db)) > 0) return null
  return (await adminLink(deps, BOOTSTRAP_TTL_MS)).path
}

/** How long a link made by the recovery command (`pnpm admin:link`) works: the operator is at the terminal. */
export const RECOVERY_TTL_MS = 3_600_000

/**
 * A one-time admin sign-in link, whether or not an admin exists: the operator's way back in after
 * losing the admin's session (another browser, cleared cookies) without Google. Whoever can run it
 * can read the server's database anyway. It revokes the previous unused links.
 */
export async function adminLink(deps: Pick<Deps, 'db'>, ttlMs = RECOVERY_TTL_MS): Promise<{ path: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url')
  const expiresAt = new Date(Date.now() + ttlMs)
  await deps.db.tx(async (q) => {
    await usersRepo.revokeBootstrapTokens(q)
    await usersRepo.insertBootstrapToken(q, hashToken(token), expiresAt)
  })
  return { path: `/api/auth/bootstrap?token=${token}`, expiresAt }
}

/**
 * Spends a sign-in link (once, before it expires) and returns the local admin it signs in. The
 * other unused links die with it: only the link just used ever worked.
 */
export async function useBootstrapToken(deps: Deps, token: string): Promise<SessionUser> {
  const row = await deps.db.tx(async (q) => {
    if (!(await usersRepo.spendBootstrapToken(q, hashToken(token)))) return null
    await usersRepo.revokeBootstrapTokens(q)
    return usersRepo.upsertLocalAdmin(q, newId(), LOCAL_ADMIN_EMAIL)
  })
  if (!row) throw new AppError('admin_link_used', 'This admin sign-in link has expired or was already used. For a new one, run "pnpm admin:link" on the server.')
  deps.logger.warn({ userId: row.id }, 'signed in with the one-time admin link')
  return toSessionUser(row)
}

/** Promote or demote a user. An admin cannot change their own role (no accidental lock-out). */
export async function setUserRole(deps: Deps, actor: SessionUser, userId: string, role: Role): Promise<SessionUser> {
  if (actor.id === userId) throw new AppError('forbidden', 'You cannot change your own role.')
  const row = await usersRepo.setRole(deps.db, userId, role)
  if (!row) throw new AppError('not_found', 'No such user.')
  deps.logger.info({ actor: actor.id, userId, role }, 'role changed')
  return toSessionUser(row)
}
