import type { AudienceRules, ShareRules, UserLimits } from '@sharesync/protocol'
import { AppError } from '../http/app-error'
import type { SessionUser, Viewer } from '../http/viewer'
import type { Policy } from '../settings/settings.service'

const DAY_SECONDS = 86_400

/** The limits that apply to this viewer: signed-in users get the user policy, others the anonymous one. */
export function limitsFor(policy: Policy, viewer: Viewer): UserLimits {
  return viewer.user ? policy.user : policy.anonymous
}

/** The daily quota rule of this viewer under the live policy (bytes per day). */
export function quotaRule(policy: Policy, viewer: Viewer): { points: number; seconds: number } {
  return { points: limitsFor(policy, viewer).dailyQuota, seconds: DAY_SECONDS }
}

export type Audience = keyof ShareRules

/** Whose rules a new link follows: links made without signing in, by signed-in users, by admins. */
export function audienceOf(user: Pick<SessionUser, 'role'> | null): Audience {
  if (!user) return 'anonymous'
  return user.role === 'admin' ? 'admin' : 'user'
}

/** The admin's share rules for this audience; the older switches (password for anonymous, encryption for all) still count. */
export function rulesFor(live: Policy, user: Pick<SessionUser, 'role'> | null): AudienceRules {
  const audience = audienceOf(user)
  const rules = live.shareRules[audience]
  return {
    ...rules,
    passwordRequired: rules.passwordRequired || (audience === 'anonymous' && live.anonymousPasswordRequired),
    encryptionRequired: rules.encryptionRequired || live.requireEncryption,
  }
}

/** The expiry a link gets when its maker gives none: the default, or the allowed preset nearest to it. */
export function defaultExpiry(live: Policy, limits: UserLimits, rules: AudienceRules): number {
  const wanted = Math.min(live.defaultExpiry, limits.maxExpiry)
  const allowed = rules.expiryPresets?.filter((s) => s <= limits.maxExpiry)
  if (!allowed?.length || allowed.includes(wanted)) return wanted
  return allowed.reduce((best, s) => (Math.abs(s - wanted) < Math.abs(best - wanted) ? s : best))
}

/**
 * Checks a new link's options against its audience's rules (encryption is checked by the caller,
 * which knows what kind of upload it is). Throws the precise error of the first rule broken.
 */
export function checkShareRules(rules: AudienceRules, link: { password: boolean; expiresIn: number; maxDownloads: number | null }): void {
  if (rules.passwordRequired && !link.password) {
    throw new AppError(
      'password_required_by_policy',
      'This server requires a password on links like this one: set one (or sign in, if links made without signing in need one).',
    )
  }
  if (rules.expiryPresets && !rules.expiryPresets.includes(link.expiresIn)) {
    throw new AppError(
      'expiry_not_allowed',
      `expiresIn: this server allows only ${rules.expiryPresets.join(', ')} seconds for links like this one.`,
    )
  }
  if (link.maxDownloads === null) {
    if (!rules.unlimitedDownloads) {
      throw new AppError(
        'download_limit_not_allowed',
        `maxDownloads: this server requires a download limit on links like this one${rules.downloadPresets ? ` (${rules.downloadPresets.join(', ')})` : ''}.`,
      )
    }
  } else if (rules.downloadPresets && !rules.downloadPresets.includes(link.maxDownloads)) {
    throw new AppError(
      'download_limit_not_allowed',
      `maxDownloads: this server allows only ${rules.downloadPresets.join(', ')}${rules.unlimitedDownloads ? ' or no limit' : ''} for links like this one.`,
    )
  }
}
