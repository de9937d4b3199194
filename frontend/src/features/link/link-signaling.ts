import { i18n } from '../../i18n'
import type { Ack, LinkClaimed, LinkReceipt, RoomCreated, RoomJoined } from '@sharesync/protocol'
import type { RoomTarget } from '../p2p/engine/ports'
import { SocketSignaling } from '../p2p/engine/signaling'

/**
 * The signaling of a one-link share's link room (the `link:*` events of the /rooms namespace): the
 * same socket, peer links, relay and transfers as a room, seated by `link:host` (the owner's page) or
 * `link:join` (a recipient) instead of `room:join`. The P2P session runs on it unchanged: the link
 * room is handed to it as a room without code or secret (so nothing of it is kept for a reload).
 */

export type LinkRole = { role: 'host'; shareId: string; ownerToken?: string } | { role: 'recipient'; shareId: string; password?: string }

export interface LinkEvents {
  /** hosts: a recipient claimed a direct download of `files` (all when null) */
  claimed(claim: { claimId: string; peerId: string; files: string[] | null }): void
  /** hosts: a cloud download of the share started, moved or ended */
  receipt(receipt: LinkReceipt): void
  /** hosts: the recipient of `claimId` gave its direct transfer up */
  claimFailed(claimId: string): void
}

const noAnswer = () => ({ ok: false as const, error: { code: 'internal' as const, message: i18n.t('engine.noAnswer') } })

export class LinkSignaling extends SocketSignaling {
  constructor(
    private readonly who: LinkRole,
    baseUrl = '',
  ) {
    super(baseUrl)
  }

  override async enter(_target: RoomTarget, _name: string | undefined): Promise<Ack<RoomCreated & Partial<Pick<RoomJoined, 'peers'>>>> {
    const s = this.socket.timeout(10_000)
    const who = this.who
    const res =
      who.role === 'host'
        ? await s.emitWithAck('link:host', { shareId: who.shareId, ...(who.ownerToken ? { ownerToken: who.ownerToken } : {}) }).catch(noAnswer)
        : await s.emitWithAck('link:join', { shareId: who.shareId, ...(who.password ? { password: who.password } : {}) }).catch(noAnswer)
    if (!res.ok) return res
    this.roomId = res.link.id
    const peers = 'hosts' in res ? res.hosts : res.peers
    return { ok: true, room: { id: res.link.id, code: '', codeExpiresAt: '', link: '', secret: '', capacity: 0 }, self: res.self, peers }
  }

  onLink(events: LinkEvents): void {
    const mine = (linkId: string) => linkId === this.roomId
    this.socket.on('link:claimed', ({ linkId, claimId, peerId, files }) => mine(linkId) && events.claimed({ claimId, peerId, files }))
    this.socket.on('link:receipt', ({ linkId, receipt }) => mine(linkId) && events.receipt(receipt))
    this.socket.on('link:claim-failed', ({ linkId, claimId }) => mine(linkId) && events.claimFailed(claimId))
  }

  /** A recipient asks the hosts for a direct download (all files when `files` is absent). */
  claim(files: string[] | undefined, lease: string | undefined): Promise<Ack<LinkClaimed>> {
    return this.socket
      .timeout(10_000)
      .emitWithAck('link:claim', { ...(files ? { files } : {}), ...(lease ? { lease } : {}) })
      .catch(noAnswer)
  }

  /** A host: the recipient of `claimId` has every file it asked for, whole. */
  delivered(claimId: string, bytes: number, path: 'direct' | 'relay'): void {
    this.socket.emit('link:delivered', { claimId, bytes, path }, () => undefined)
  }

  failed(claimId: string, reason: string): void {
    this.socket.emit('link:failed', { claimId, reason: reason.slice(0, 200) }, () => undefined)
  }

  override leave(): void {
    this.socket.emit('link:leave', {}, () => undefined)
    this.socket.disconnect()
  }
}
