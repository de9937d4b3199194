import type { AudienceRules, ShareOptions } from '@sharesync/protocol'
import type { NewShare } from '../db/shares.repo'
import type { Deps } from '../deps'
import { AppError } from '../http/app-error'
import type { Viewer } from '../http/viewer'
import type { Policy } from '../settings/settings.service'
import { hashToken } from './ids'
import { hashPassword } from './password'
import { checkShareRules, defaultExpiry, limitsFor, quotaRule, rulesFor } from './policy'
import { sizeInWords } from '../http/in-words'

/** What admission decided for a new share. */
export interface Admitted {
  expiresAt: Date
  maxDownloads: number | null
  passwordHash: string | null
  policy: ReturnType<typeof limitsFor>
  /** the admin's share rules for this viewer's audience */
  rules: AudienceRules
  live: Policy
}

/**
 * Who may upload what: the admin's live policy, the per-client upload rate and the daily byte quota.
 * Shared by browser and curl uploads, so both obey exactly the same rules.
 */
export class Admission {
  constructor(private readonly deps: Pick<Deps, 'limits' | 'settings'>) {}

  /** Checks the options against the viewer's policy; consumes one upload from the rate limit (and the declared bytes from the quota). */
  async admit(viewer: Viewer, options: ShareOptions, declaredBytes: number | null, largestFile: number, kind: { encrypted: boolean; room?: boolean } = { encrypted: false }): Promise<Admitted> {
    const { limits } = this.deps
    // The admin's live settings: a change applies from the next request on.
    const live = await this.deps.settings.policy()
    if (!viewer.user && !live.allowAnonymousUploads) {
      throw new AppError('anonymous_uploads_disabled', 'Anonymous uploads are disabled here. Please sign in to share files.')
    }
    const rules = rulesFor(live, viewer.user)
    if (rules.encryptionRequired && !kind.encrypted) {
      throw new AppError(
        'encryption_required',
        'This server accepts only end-to-end encrypted uploads for links like this one: use the web app with "End-to-end encryption", or the sharesync command-line client.',
      )
    }
    const policy = limitsFor(live, viewer)
    const expiresIn = options.expiresIn ?? defaultExpiry(live, policy, rules)
    if (expiresIn > policy.maxExpiry) {
      throw new AppError('invalid_input', `expiresIn: must be at most ${policy.maxExpiry} seconds.`)
    }
    // A file left in a room is no link: the room's members are its only recipients.
    if (kind.room !== true) checkShareRules(rules, { password: Boolean(options.password), expiresIn, maxDownloads: options.maxDownloads ?? null })
    if (largestFile > policy.maxFileSize) {
      throw new AppError('too_large', `Files may be at most ${sizeInWords(policy.maxFileSize)}.`)
    }
    await limits.consume('upload', viewer.clientKey, 1, live.uploadRateLimit)
    if (declaredBytes !== null && declaredBytes > 0) {
      await this.consumeQuota(viewer, live, declaredBytes).catch(async (err: unknown) => {
        await this.refundUpload(viewer, live)
        throw err
      })
    }
    return {
      expiresAt: new Date(Date.now() + expiresIn * 1000),
      maxDownloads: options.maxDownloads ?? null,
      passwordHash: options.password ? await hashPassword(options.password) : null,
      policy,
      rules,
      live,
    }
  }

  /** Charges bytes to the viewer's daily quota (429 when it is used up). */
  consumeQuota(viewer: Viewer, live: Policy, bytes: number): Promise<unknown> {
    return this.deps.limits.consume(viewer.user ? 'userQuota' : 'anonQuota', viewer.clientKey, bytes, quotaRule(live, viewer))
  }

  /** Gives back the upload's rate point (the upload failed on our side). */
  refundUpload(viewer: Viewer, live: Policy): Promise<void> {
    return this.deps.limits.refund('upload', viewer.clientKey, 1, live.uploadRateLimit)
  }

  /** Gives back quota bytes (nothing of them is stored). */
  refundQuota(viewer: Viewer, live: Policy, bytes: number): Promise<void> {
    if (bytes <= 0) return Promise.resolve()
    return this.deps.limits.refund(viewer.user ? 'userQuota' : 'anonQuota', viewer.clientKey, bytes, quotaRule(live, viewer))
  }

  /** An upload that stored nothing after all: its rate point and its quota bytes go back. */
  async refund(viewer: Viewer, live: Policy, quotaBytes: number): Promise<void> {
    await Promise.all([this.refundUpload(viewer, live), this.refundQuota(viewer, live, quotaBytes)])
  }
}

/** A new share owned by this viewer (and by whoever holds its owner token), still uploading. */
export function newShareRow(
  id: string,
  ownerToken: string,
  viewer: Viewer,
  admitted: Pick<Admitted, 'passwordHash' | 'maxDownloads' | 'expiresAt'>,
  encryption: { metadata: string } | null = null,
  extra: Pick<NewShare, 'kind' | 'text' | 'note' | 'previews' | 'direct' | 'cloudCopy'> = {},
): NewShare {
  return {
    ...extra,
    encryptedMetadata: encryption?.metadata ?? null,
    id,
    ownerUserId: viewer.user?.id ?? null,
    ownerTokenHash: hashToken(ownerToken),
    passwordHash: admitted.passwordHash,
    maxDownloads: admitted.maxDownloads,
    expiresAt: admitted.expiresAt,
    anonymous: !viewer.user,
    clientKey: viewer.clientKey,
    status: 'uploading',
  }
}
