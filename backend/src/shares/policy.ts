import type { UserLimits } from '@sharesync/protocol'
import type { Config } from '../config'
import type { Viewer } from '../http/viewer'

/** The limits that apply to this viewer: signed-in users get the user policy, others the anonymous one. */
export function limitsFor(config: Config, viewer: Viewer): UserLimits {
  return viewer.user ? config.policy.user : config.policy.anonymous
}
