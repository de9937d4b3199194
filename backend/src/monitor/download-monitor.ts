import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { DownloadStatus, MonitoredDownload } from '@sharesync/protocol'
import { transfersRepo } from '../db/transfers.repo'
import type { Deps } from '../deps'
import { recipientName } from '../rooms/device-name'
import { newId } from '../shares/ids'

/** What a monitored download is about; the caller knows it, the monitor only reports it. */
export interface TransferInfo {
  shareId: string
  fileId: string | null
  fileName: string
  source: MonitoredDownload['source']
  /** the share's owner: they see this download in My shares */
  ownerUserId: string | null
  /** size of the whole file */
  total: number
  /** first byte of this response within the file */
  offset: number
  /** bytes this response sends */
  length: number
}

/** How a monitored download ended. The caller counts a download on 'completed' and frees a lease otherwise. */
export type TransferOutcome = Exclude<DownloadStatus, 'active'>

export interface MonitorOptions {
  stallTimeoutMs: number
  /** how often progress is reported and stalls are looked for */
  tickMs?: number
  /** how often the database row of an active download is refreshed */
  heartbeatMs?: number
}

interface Live {
  id: string
  info: TransferInfo
  client: MonitoredDownload['client']
  bytes: number
  startedAt: number
  lastProgressAt: number
  /** [time, bytes] of the last few seconds, for the speed */
  samples: [number, number][]
  end: (status: TransferOutcome) => void
}

export interface MonitorEvents {
  /** this instance's active downloads, every tick while there are any */
  progress: [downloads: (MonitoredDownload & { ownerUserId: string | null })[]]
  ended: [download: MonitoredDownload & { ownerUserId: string | null }]
}

const SPEED_WINDOW_MS = 5000

/**
 * Watches every download the app streams itself. A streaming route hands its body and response to
 * `send()` instead of piping them: the monitor counts the bytes as the client takes them, reports
 * progress and speed (events, and a database row refreshed every few seconds), closes the
 * connection of a client that read nothing for STALL_TIMEOUT, ends a download on `stop(id)`, and
 * resolves with how the download ended, so the caller can count it or free its lease.
 */
export class DownloadMonitor {
  /** names this instance in the rows it writes */
  readonly instanceId = newId()
  private readonly live = new Map<string, Live>()
  private readonly emitter = new EventEmitter<MonitorEvents>()
  private readonly tickMs: number
  private readonly heartbeatMs: number
  private timer: NodeJS.Timeout | null = null
  private lastHeartbeat = 0
  private lastReap = 0

  constructor(
    private readonly deps: Pick<Deps, 'db' | 'logger'>,
    private readonly opts: MonitorOptions,
  ) {
    this.tickMs = opts.tickMs ?? Math.max(50, Math.min(1000, opts.stallTimeoutMs / 4))
    this.heartbeatMs = opts.heartbeatMs ?? 2000
  }

  on<K extends keyof MonitorEvents>(event: K, listener: (...args: MonitorEvents[K]) => void): () => void {
    this.emitter.on(event, listener as never)
    return () => this.emitter.off(event, listener as never)
  }

  /**
   * Streams `body` into `res` under watch. Resolves (never rejects) once the response is finished
   * (completed) or torn down (aborted, stalled, stopped, failed); headers must already be set.
   */
  async send(req: IncomingMessage, res: ServerResponse, body: Readable, info: TransferInfo): Promise<TransferOutcome> {
    const now = Date.now()
    const ua = req.headers['user-agent']
    const live: Live = {
      id: newId(),
      info,
      client: { ip: clientIp(req), userAgent: typeof ua === 'string' ? ua.slice(0, 300) : null },
      bytes: 0,
      startedAt: now,
      lastProgressAt: now,
      samples: [[now, 0]],
      end: () => undefined,
    }
    await transfersRepo
      .insert(this.deps.db, {
        id: live.id,
        ...info,
        clientIp: live.client.ip,
        userAgent: live.client.userAgent,
        instanceId: this.instanceId,
      })
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'download monitor: could not record a download'))
    this.live.set(live.id, live)
    this.ensureTimer()

    let sourceFailed = false
    body.once('error', () => (sourceFailed = true))
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        live.bytes += chunk.length
        live.lastProgressAt = Date.now()
        callback(null, chunk)
      },
    })
    const outcome = await new Promise<TransferOutcome>((resolve) => {
      let settled = false
      const settle = (status: TransferOutcome) => {
        if (settled) return
        settled = true
        resolve(status)
      }
      live.end = (status) => {
        settle(status)
        body.destroy()
        res.destroy()
      }
      pipeline(body, meter, res).then(
        () => settle('completed'),
        () => settle(sourceFailed ? 'failed' : 'aborted'),
      )
    })
    this.live.delete(live.id)
    const ended = { ...this.snapshot(live, Date.now()), status: outcome, endedAt: new Date().toISOString() }
    await transfersRepo
      .finish(this.deps.db, live.id, live.bytes, outcome)
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'download monitor: could not record the end of a download'))
    this.emitter.emit('ended', ended)
    return outcome
  }

  /** Ends a download running on this instance (the client's connection is closed). False: not here. */
  stop(id: string): boolean {
    const live = this.live.get(id)
    if (!live) return false
    live.end('stopped')
    return true
  }

  /** This instance's active downloads, as they are now. */
  active(): (MonitoredDownload & { ownerUserId: string | null })[] {
    const now = Date.now()
    return [...this.live.values()].map((l) => this.snapshot(l, now))
  }

  close(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  private snapshot(l: Live, now: number): MonitoredDownload & { ownerUserId: string | null } {
    const [t0, b0] = l.samples[0] ?? [l.startedAt, 0]
    const seconds = (now - t0) / 1000
    const { info } = l
    return {
      id: l.id,
      shareId: info.shareId,
      fileId: info.fileId,
      fileName: info.fileName,
      source: info.source,
      path: 'cloud',
      device: recipientName(l.client.userAgent),
      client: l.client,
      bytes: l.bytes,
      offset: info.offset,
      length: info.length,
      total: info.total,
      percent: info.total > 0 ? Math.min(100, ((info.offset + l.bytes) / info.total) * 100) : 100,
      speed: seconds > 0 ? Math.round((l.bytes - b0) / seconds) : 0,
      status: 'active',
      startedAt: new Date(l.startedAt).toISOString(),
      updatedAt: new Date(l.lastProgressAt).toISOString(),
      endedAt: null,
      ownerUserId: info.ownerUserId,
    }
  }

  private ensureTimer(): void {
    if (this.timer) return
    this.timer = setInterval(() => this.tick(), this.tickMs)
    this.timer.unref()
  }

  private tick(): void {
    const now = Date.now()
    for (const l of this.live.values()) {
      l.samples.push([now, l.bytes])
      while (l.samples.length > 2 && now - l.samples[0]![0] > SPEED_WINDOW_MS) l.samples.shift()
      if (now - l.lastProgressAt >= this.opts.stallTimeoutMs) l.end('stalled')
    }
    if (this.live.size > 0) this.emitter.emit('progress', this.active())
    if (now - this.lastHeartbeat >= this.heartbeatMs) {
      this.lastHeartbeat = now
      for (const l of this.live.values()) {
        transfersRepo
          .heartbeat(this.deps.db, l.id, l.bytes)
          .catch((err: unknown) => this.deps.logger.debug({ err }, 'download monitor: heartbeat failed'))
      }
    }
    if (now - this.lastReap >= 60_000) {
      this.lastReap = now
      transfersRepo.reapLost(this.deps.db).catch(() => undefined)
    }
    if (this.live.size === 0 && this.timer) {
      clearInterval(this.timer)
      this.timer = null
    }
  }
}

/** Express has computed req.ip (TRUST_PROXY-aware) when it is an Express request. */
function clientIp(req: IncomingMessage): string {
  const ip = (req as { ip?: unknown }).ip
  return typeof ip === 'string' ? ip : (req.socket.remoteAddress ?? 'unknown')
}
