/** socket.io-client helpers for the /rooms namespace (typed by the protocol's event maps). */
import type { ClientToServer, ServerToClient, TransferReport } from '@sharesync/protocol'
import { io, type Socket } from 'socket.io-client'

export type RoomsClient = Socket<ServerToClient, ClientToServer>

export async function connectRooms(baseUrl: string, opts: { headers?: Record<string, string> } = {}): Promise<RoomsClient> {
  const socket: RoomsClient = io(`${baseUrl}/rooms`, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    extraHeaders: opts.headers,
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
