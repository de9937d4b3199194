import { MAX_PASSWORD_LENGTH } from '@sharesync/protocol'
import { sharesRepo, type ShareRow } from '../db/shares.repo'
import type { Deps } from '../deps'
import { AppError } from '../http/app-error'
import type { Viewer } from '../http/viewer'
import { hashPassword, needsRehash, verifyPassword } from './password'

/**
 * The password of a share. Guesses count twice: per share and client address (IPv6 by network, so
 * rotating within a /64 does not help), and per share across every address (a botnet shares one
 * budget). A right entry gives both points back and upgrades a hash made with older KDF parameters.
 */
export class PasswordGate {
  constructor(private readonly deps: Pick<Deps, 'db' | 'limits' | 'logger'>) {}

  /** true: no password, or the right one; false: none was given; throws 401 password_invalid or 429. */
  async unlock(share: Pick<ShareRow, 'id' | 'password_hash'>, password: string | undefined, viewer: Viewer): Promise<boolean> {
    const stored = share.password_hash
    if (!stored) return true
    if (password === undefined || password === '') return false
    const { limits } = this.deps
    const perAddress = `${share.id}:${viewer.address}`
    await limits.consume('password', perAddress)
    await limits.consume('sharePassword', share.id)
    // A header can carry more than a password may be long: such a guess is simply wrong.
    if (password.length > MAX_PASSWORD_LENGTH || !(await verifyPassword(password, stored))) {
      throw new AppError('password_invalid', 'The password is not correct.')
    }
    await Promise.all([limits.refund('password', perAddress), limits.refund('sharePassword', share.id)])
    if (needsRehash(stored)) await this.upgrade(share.id, stored, password)
    return true
  }

  /** Best effort: a failed upgrade leaves the old hash, which still works, for the next entry. */
  private async upgrade(shareId: string, stored: string, password: string): Promise<void> {
    try {
      const stronger = await hashPassword(password)
      if (await sharesRepo.replacePasswordHash(this.deps.db, shareId, stored, stronger)) this.deps.logger.debug('share password hash upgraded')
    } catch (err) {
      this.deps.logger.warn({ err }, 'share password hash upgrade failed')
    }
  }
}
