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

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

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
