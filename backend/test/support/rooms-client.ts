/** socket.io-client helpers for the /rooms namespace (typed by the protocol's event maps). */
import type { ClientToServer, ServerToClient, TransferReport } from '@sharesync/protocol'
import { io, type Socket } from 'socket.io-client'

export type RoomsClient = Socket<ServerToClient, ClientToServer>

export interface ConnectOptions {
  headers?: Record<string, string>
  /** connect from this local address (e.g. 127.0.0.2: another "network" on loopback) */
  localAddress?: string
  /** reconnect by itself after a drop (Socket.IO connection state recovery is then tried) */
  reconnection?: boolean
}

export async function connectRooms(baseUrl: string, opts: ConnectOptions = {}): Promise<RoomsClient> {
  const socket: RoomsClient = io(`${baseUrl}/rooms`, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: opts.reconnection ?? false,
    reconnectionDelay: 50,
    extraHeaders: opts.headers,
    ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('connect_error', (err) => reject(err))
  })
  return socket
}

/** Resolves with the next `event` the socket receives, or rejects after `ms`. */
export function nextEvent<E extends keyof ServerToClient>(socket: RoomsClient, event: E, ms = 3000): Promise<Parameters<ServerToClient[E]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms)
    socket.once(event, ((payload: Parameters<ServerToClient[E]>[0]) => {
      clearTimeout(timer)
      resolve(payload)
    }) as never)
  })
}

/** Collects every `event` the socket receives (to assert that nothing arrived). */
export function collect<E extends keyof ServerToClient>(socket: RoomsClient, event: E): Parameters<ServerToClient[E]>[0][] {
  const seen: Parameters<ServerToClient[E]>[0][] = []
  socket.on(event, ((payload: Parameters<ServerToClient[E]>[0]) => seen.push(payload)) as never)
  return seen
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

let transferSeq = 0

/**
 * What a sending browser does: announces a transfer (`transfer:started`, offering exactly what it
 * will report), then reports it. Answers the report's ack (or the announcement's, when refused).
 */
export async function reportTransfer(socket: RoomsClient, stats: Omit<TransferReport, 'id'>) {
  const id = `test-transfer-${++transferSeq}`
  const started = await socket.emitWithAck('transfer:started', { id, bytes: stats.bytes, files: Math.max(1, stats.files) })
  if (!started.ok) return started
  return socket.emitWithAck('transfer:report', { id, ...stats })
}

/** Cuts the connection as a network drop or a page reload would (not a deliberate disconnect). */
export function dropConnection(socket: RoomsClient): void {
  socket.io.engine.close()
}

/** Waits until `check` holds, polling every 50 ms (for state the server updates asynchronously). */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`)
    await sleep(50)
  }
}

export interface RelayRun {
  id: string
  /** SHA-256 of what the sender sent and of what the receiver got */
  sent: string
  received: string
  bytes: number
}

/**
 * Sends `size` pseudo-random bytes from `sender` to peer `to` through a server relay channel, as a
 * browser would: at most `window` messages unacknowledged, each `chunk` bytes; the receiver (a
 * socket of peer `to`) hashes each message, then acknowledges it (after `consume`, e.g. a slow disk).
 */
export async function relayBytes(
  sender: RoomsClient,
  receiver: RoomsClient,
  to: string,
  size: number,
  opts: { chunk?: number; consume?: (bytes: number) => Promise<void> } = {},
): Promise<RelayRun> {
  const { createHash, randomBytes } = await import('node:crypto')
  const opened = await sender.emitWithAck('relay:open', { to, bytes: size })
  if (!opened.ok) throw new Error(`relay:open: ${opened.error.code} ${opened.error.message}`)
  const { id, chunkBytes, window } = opened.relay
  const chunk = Math.min(opts.chunk ?? chunkBytes, chunkBytes)
  const got = createHash('sha256')
  let receivedBytes = 0
  let onData: ServerToClient['relay:data'] = () => undefined
  let onClosed: ServerToClient['relay:closed'] = () => undefined
  const done = new Promise<void>((resolve, reject) => {
    onData = (p, ack) => {
      if (p.id !== id) return
      const bytes = Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data as ArrayBuffer)
      got.update(bytes)
      receivedBytes += bytes.byteLength
      const finish = () => {
        ack()
        if (receivedBytes === size) resolve()
      }
      if (opts.consume) void opts.consume(bytes.byteLength).then(finish)
      else finish()
    }
    onClosed = (p) => {
      if (p.id === id) reject(new Error(`relay closed: ${p.reason}`))
    }
    receiver.on('relay:data', onData)
    receiver.on('relay:closed', onClosed)
  }).finally(() => {
    receiver.off('relay:data', onData)
    receiver.off('relay:closed', onClosed)
  })
  const sent = createHash('sha256')
  let inFlight = 0
  let wake: (() => void) | null = null
  let failure: Error | null = null
  for (let offset = 0; offset < size; offset += chunk) {
    while (inFlight >= window) await new Promise<void>((r) => (wake = r))
    if (failure) throw failure
    const part = randomBytes(Math.min(chunk, size - offset))
    sent.update(part)
    inFlight++
    sender.emit('relay:data', { id, data: part }, (res) => {
      inFlight--
      if (!res.ok) failure = new Error(`relay:data: ${res.error.code} ${res.error.message}`)
      const w = wake
      wake = null
      w?.()
    })
  }
  if (size === 0) return { id, sent: sent.digest('hex'), received: got.digest('hex'), bytes: 0 }
  await done
  while (inFlight > 0) await new Promise<void>((r) => (wake = r))
  if (failure) throw failure
  return { id, sent: sent.digest('hex'), received: got.digest('hex'), bytes: receivedBytes }
}
