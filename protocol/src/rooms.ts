import { z } from 'zod'
import type { ErrorCode } from './errors'

/**
 * P2P rooms: the Socket.IO namespace `/rooms`. Typed event maps for both ends, and the zod schema
 * the server parses every payload with (types do not cross the wire).
 */

export const ROOMS_NAMESPACE = '/rooms'
/** Human codes avoid look-alikes (0/O, 1/I/L) so they can be read out loud and typed on a phone. */
export const ROOM_CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ'
export const ROOM_CODE_LENGTH = 6
export const MAX_DEVICE_NAME_LENGTH = 64
/** Socket.IO frames above this are refused by the server (signals are small: SDP + candidates). */
export const MAX_SIGNAL_BYTES = 64 * 1024

/** Accepts "ab3-k9q", " AB3K9Q " …: upper-cased, separators removed, then checked. */
export const RoomCode = z
  .string()
  .max(32)
  .transform((v) => v.toUpperCase().replace(/[\s-]/g, ''))
  .pipe(z.string().regex(new RegExp(`^[${ROOM_CODE_ALPHABET}]{${ROOM_CODE_LENGTH}}$`), 'not a room code'))

/** The link secret: at least 128 random bits, base64url. */
export const RoomSecret = z.string().regex(/^[A-Za-z0-9_-]{22,64}$/, 'not a room link')
export const PeerId = z.string().min(1).max(64)
export const DeviceName = z
  .string()
  .transform((v) => v.replace(/[\u0000-\u001f\u007f]/g, '').trim())
  .pipe(z.string().min(1).max(MAX_DEVICE_NAME_LENGTH))

export const CreateRoom = z.object({ name: DeviceName.optional() }).strict()
export type CreateRoom = z.input<typeof CreateRoom>

export const JoinRoom = z.union([
  z.object({ code: RoomCode, name: DeviceName.optional() }).strict(),
  z.object({ secret: RoomSecret, name: DeviceName.optional() }).strict(),
])
export type JoinRoom = z.input<typeof JoinRoom>

export const LeaveRoom = z.object({}).strict()

/** SDP descriptions and ICE candidates are opaque to the server; only their size is bounded. */
export const SignalData = z.custom<NonNullable<unknown>>((v) => v !== undefined && v !== null, 'signal data is required')
// Not strict: a `from` a client adds is dropped (the server stamps its own).
export const SendSignal = z.object({ to: PeerId, data: SignalData })
export type SendSignal = z.infer<typeof SendSignal>

export const TransferStatus = z.enum(['completed', 'cancelled', 'declined', 'failed'])
export type TransferStatus = z.infer<typeof TransferStatus>

/** Stats only: sizes, counts and timing, never names or content. */
export const TransferReport = z
  .object({
    bytes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    files: z.number().int().nonnegative().max(100_000),
    ms: z.number().int().nonnegative().max(7 * 24 * 3600 * 1000),
    status: TransferStatus,
  })
  .strict()
export type TransferReport = z.infer<typeof TransferReport>

/** A transfer has started (live "transfers in progress" counter for the admin dashboard). */
export const TransferStarted = z.object({}).strict()

export interface RoomInfo {
  id: string
  /** short human code, valid until `codeExpiresAt` (refreshed while the room is in use) */
  code: string
  codeExpiresAt: string
  /** the room's page: `${origin}/r/${secret}`, for links and QR codes */
  link: string
  secret: string
  capacity: number
}

export interface Peer {
  peerId: string
  /** what the person called this device, or the device itself */
  name: string
  /** derived from the User-Agent, e.g. "Pixel 8 · Chrome" */
  device: string
}

export interface AckError {
  ok: false
  error: { code: ErrorCode; message: string }
}
export type Ack<T extends object = object> = ({ ok: true } & T) | AckError
export type AckFn<T extends object = object> = (res: Ack<T>) => void

export interface RoomCreated {
  room: RoomInfo
  self: Peer
}
export interface RoomJoined extends RoomCreated {
  peers: Peer[]
}

export interface ClientToServer {
  'room:create': (p: CreateRoom, ack: AckFn<RoomCreated>) => void
  'room:join': (p: JoinRoom, ack: AckFn<RoomJoined>) => void
  'room:leave': (p: Record<string, never>, ack: AckFn) => void
  signal: (p: SendSignal, ack: AckFn) => void
  'transfer:started': (p: Record<string, never>, ack: AckFn) => void
  'transfer:report': (p: TransferReport, ack: AckFn) => void
}

export interface ServerToClient {
  'peer:joined': (p: { peer: Peer }) => void
  'peer:left': (p: { peerId: string }) => void
  signal: (p: { from: string; data: unknown }) => void
  'room:closed': (p: Record<string, never>) => void
}

/** GET /api/rtc/ice-servers */
export interface IceServer {
  urls: string | string[]
  username?: string
  credential?: string
}
export interface IceServersResponse {
  iceServers: IceServer[]
  /** seconds the TURN credentials stay valid (0 without TURN) */
  ttl: number
}

/*
 * Peer-to-peer messages. They travel browser to browser (the server never sees them), but a peer is
 * just as untrusted as any client: the receiving app parses them with these schemas.
 */

/** What a browser puts in `signal.data`: an SDP description or an ICE candidate. */
export const PeerSignal = z.union([
  z.object({ description: z.object({ type: z.enum(['offer', 'answer']), sdp: z.string().max(60_000) }) }),
  z.object({
    candidate: z.object({
      candidate: z.string().max(2000),
      sdpMid: z.string().max(64).nullish(),
      sdpMLineIndex: z.number().int().min(0).max(255).nullish(),
      usernameFragment: z.string().max(256).nullish(),
    }),
  }),
])
export type PeerSignal = z.infer<typeof PeerSignal>

export const MAX_P2P_FILES = 1000
const TransferId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/)
export const OfferedFile = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  name: z.string().min(1).max(1024),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  type: z.string().max(255),
})
export type OfferedFile = z.infer<typeof OfferedFile>

/** JSON messages on the peers' control channel. */
export const ControlMessage = z.discriminatedUnion('t', [
  z.object({ t: z.literal('offer'), id: TransferId, files: z.array(OfferedFile).min(1).max(MAX_P2P_FILES) }),
  z.object({ t: z.literal('accept'), id: TransferId }),
  z.object({ t: z.literal('decline'), id: TransferId }),
  z.object({ t: z.literal('cancel'), id: TransferId, reason: z.string().max(200).optional() }),
  /** the receiver checked one file's SHA-256 */
  z.object({ t: z.literal('verified'), id: TransferId, fileId: z.string().max(64), ok: z.boolean() }),
  z.object({ t: z.literal('complete'), id: TransferId }),
])
export type ControlMessage = z.infer<typeof ControlMessage>

/** A text frame on a transfer's data channel after a file's last binary chunk. */
export const EndOfFile = z.object({ t: z.literal('eof'), fileId: z.string().max(64), sha256: z.string().regex(/^[0-9a-f]{64}$/) })
export type EndOfFile = z.infer<typeof EndOfFile>
