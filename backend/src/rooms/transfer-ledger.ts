import type { TransferReport, TransferStarted } from '@sharesync/protocol'
import { AppError } from '../http/app-error'

/** What is stored of a report: the stats, without the sender's transfer id. */
export type TransferStats = Omit<TransferReport, 'id'>

interface Announced {
  roomId: string
  bytes: number
  files: number
}

/**
 * The transfers one socket announced (`transfer:started`) and has not reported yet. A report must
 * name one of them, in the same room, and may claim at most the bytes and files it offered; each
 * is reported once. Per connection, so in-process memory is right with several instances too.
 */
export class TransferLedger {
  private readonly open = new Map<string, Announced>()

  constructor(private readonly maxOpen = 100) {}

  /** transfers announced and not reported (the live "in progress" counter) */
  get size(): number {
    return this.open.size
  }

  start(roomId: string, t: TransferStarted): void {
    // A socket is in one room at a time: what it left unreported in an earlier room is dropped.
    for (const [id, open] of this.open) if (open.roomId !== roomId) this.open.delete(id)
    if (this.open.has(t.id)) throw new AppError('conflict', 'This transfer was already announced.')
    if (this.open.size >= this.maxOpen) throw new AppError('rate_limited', 'Too many transfers in progress; report some first.')
    this.open.set(t.id, { roomId, bytes: t.bytes, files: t.files })
  }

  /** The stats to store for `report`; throws (and settles nothing) when the report overclaims or names no announced transfer. */
  settle(roomId: string, report: TransferReport): TransferStats {
    const announced = this.open.get(report.id)
    if (!announced || announced.roomId !== roomId) throw new AppError('forbidden', 'Report only a transfer you announced in this room.')
    if (report.bytes > announced.bytes) throw new AppError('invalid_input', `bytes: this transfer offered ${announced.bytes} bytes.`)
    if (report.files > announced.files) throw new AppError('invalid_input', `files: this transfer offered ${announced.files} files.`)
    this.open.delete(report.id)
    const { id: _id, ...stats } = report
    return stats
  }
}
