import { EventEmitter } from 'node:events'
import type { AuditEntry, TransferStatus } from '@sharesync/protocol'
import type { Logger } from 'pino'

/** What happened, by name: the admin live feed and the metrics listen to these. */
export interface AppEvents {
  /** a share became downloadable (browser upload finalized, or a curl upload stored) */
  shareCreated: { shareId: string; bytes: number; files: number; anonymous: boolean; userId: string | null }
  /** a download was counted: a presigned URL issued (unlimited share), or a lease's first file sent whole (limited) */
  shareDownloaded: { shareId: string; fileId: string; bytes: number }
  shareDeleted: { shareId: string; by: 'owner' | 'admin' | 'janitor' }
  /** an upload into a file request arrived complete (it is the requester's, not a link) */
  requestReceived: { requestId: string; shareId: string; bytes: number; files: number; userId: string | null }
  roomOpened: { roomId: string }
  roomClosed: { roomId: string }
  transferFinished: { bytes: number; files: number; ms: number; status: TransferStatus }
  /** one end of a server relay channel closed: the bytes it sent */
  relayFinished: { bytes: number; ms: number; opener: boolean; reason: string }
  /** a rate limit or quota refused a request */
  rateLimited: { limit: string }
  janitorRun: { deleted: number }
  /** an admin action was written to the audit log */
  auditLogged: { entry: AuditEntry }
  /** a user was disabled, re-enabled, promoted or demoted: their admin sockets must re-authenticate */
  userAccessChanged: { userId: string }
  /** an API token was revoked: sockets opened with it close */
  tokenRevoked: { tokenId: string }
  /** a share's expiry (or another rule recipients see) was changed on this instance */
  shareChanged: { shareId: string }
}

export type AppEventName = keyof AppEvents
type Listener<K extends AppEventName> = (payload: AppEvents[K]) => void

/**
 * A typed, in-process event bus (one per server instance). Listeners are observers: one that
 * throws is logged and never breaks the request that emitted the event. Cross-instance delivery
 * (several dashboards, several servers) is the admin socket's job (Redis adapter), not this bus's.
 */
export class AppEventBus {
  private readonly emitter = new EventEmitter()

  constructor(private readonly logger?: Logger) {
    // Metrics, the admin feed and tests may all listen: no "possible leak" warning for a handful.
    this.emitter.setMaxListeners(50)
  }

  /** Subscribes; returns the unsubscribe function. */
  on<K extends AppEventName>(name: K, listener: Listener<K>): () => void {
    const safe = (payload: AppEvents[K]) => {
      try {
        listener(payload)
      } catch (err) {
        this.logger?.warn({ err, event: name }, 'event listener failed')
      }
    }
    this.emitter.on(name, safe)
    return () => this.emitter.off(name, safe)
  }

  emit<K extends AppEventName>(name: K, payload: AppEvents[K]): void {
    this.emitter.emit(name, payload)
  }
}
