import type { Deps } from '../deps'
import type { Shares } from '../shares/shares'
import { PasswordGate } from '../shares/password-gate'
import { FileRequests } from './requests.service'

/** File requests, built once at the composition root from the shares' deletion. */
export function createFileRequests(deps: Deps, shares: Pick<Shares, 'deletion'>): FileRequests {
  return new FileRequests(deps, new PasswordGate(deps), shares.deletion)
}
