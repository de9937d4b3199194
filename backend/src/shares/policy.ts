import type { UserLimits } from '@sharesync/protocol'
import type { Viewer } from '../http/viewer'
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
