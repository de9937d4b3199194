import { z } from 'zod'
import type { ErrorCode } from './errors'
import { LeaveFile, ListRoomFiles, RoomFileRef, type LeftUpload, type RoomFile, type RoomFileUrl } from './room-files'
import { LINK_CLIENT_EVENTS, type ClaimLink, type HostLink, type JoinLink, type LinkClaimed, type LinkDelivered, type LinkFailed, type LinkHosted, type LinkJoined, type LinkReceipt } from './links'

/**
 * P2P rooms: the Socket.IO namespace `/rooms`. Typed event maps for both ends, and the zod schema
 * the server parses every payload with (types do not cross the wire).
 */

export const ROOMS_NAMESPACE = '/rooms'
/** Human codes avoid look-alikes (0/O, 1/I/L) so they can be read out loud and typed on a phone. */
export const ROOM_CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ'
export const ROOM_CODE_LENGTH = 6
export const MAX_DEVICE_NAME_LENGTH = 64
/** A signal's `data`, as JSON, may not be bigger than this (signals are small: SDP + candidates). */
export const MAX_SIGNAL_BYTES = 64 * 1024
/** The biggest relay message (`relay:data`); the server may advertise a smaller `chunkBytes`. */
export const MAX_RELAY_CHUNK_BYTES = 256 * 1024
/**
 * Socket.IO frames above this are refused and the socket closed: a relay chunk, base64-encoded when
 * the connection fell back to long-polling, plus its envelope.
 */
export const MAX_SOCKET_FRAME_BYTES = 2 * MAX_RELAY_CHUNK_BYTES
/** Files one P2P transfer may offer. */
export const MAX_P2P_FILES = 1000

/** Accepts "ab3-k9q", " AB3K9Q " …: upper-cased, separators removed, then checked. */
export const RoomCode = z
  .string()
  .max(32)
  .transform((v) => v.toUpperCase().replace(/[\s-]/g, ''))
  .pipe(z.string().regex(new RegExp(`^[${ROOM_CODE_ALPHABET}]{${ROOM_CODE_LENGTH}}$`), 'This is not a room code: a room code has ' + ROOM_CODE_LENGTH + ' letters and digits.'))

/** The link secret: at least 128 random bits, base64url. */
export const RoomSecret = z.string().regex(/^[A-Za-z0-9_-]{22,64}$/, 'This is not a room link. Check that the whole link was copied, or join with the room code.')
export const PeerId = z.string().min(1).max(64)
export const DeviceName = z
  .string()
  .transform((v) => v.replace(/[\u0000-\u001f\u007f]/g, '').trim())
  .pipe(z.string().min(1).max(MAX_DEVICE_NAME_LENGTH))

/**
 * A reconnect token: `<roomId>.<peerId>.<secret>`. Issued to a member that asked for one
 * (`resumable: true`), good for one `room:resume` / `nearby:join`, replaced by a new one each time.
 * It is never the room's link secret, and it is worthless in any other room or for any other peer.
 */
export const ReconnectToken = z.string().max(200).regex(/^[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{22,64}$/, 'not a reconnect token')

/** `resumable: true` asks for a reconnect token: the seat is then held for a grace period after a disconnect. */
const membership = { name: DeviceName.optional(), resumable: z.boolean().optional() }

export const CreateRoom = z.object(membership).strict()
export type CreateRoom = z.input<typeof CreateRoom>

export const JoinRoom = z.union([
  z.object({ code: RoomCode, ...membership }).strict(),
  z.object({ secret: RoomSecret, ...membership }).strict(),
])
export type JoinRoom = z.input<typeof JoinRoom>

/** Back into the room after a reconnect or a reload, as the same peer (its reconnect token). */
export const ResumeRoom = z.object({ token: ReconnectToken }).strict()
export type ResumeRoom = z.input<typeof ResumeRoom>

export const LeaveRoom = z.object({}).strict()

/**
 * The devices on this device's network, without a code: the server groups sockets by the client
 * address (the one its rate limits use, `TRUST_PROXY`-aware). `token` (from an earlier `nearby:join`)
 * resumes the same peer, if the device is still on the same network.
 */
export const JoinNearby = z.object({ ...membership, token: ReconnectToken.optional() }).strict()
export type JoinNearby = z.input<typeof JoinNearby>

/** Hides this device from its network (and stops seeing the others). */
export const LeaveNearby = z.object({}).strict()

/** SDP descriptions and ICE candidates are opaque to the server; only their size is bounded. */
export const SignalData = z
  .custom<NonNullable<unknown>>((v) => v !== undefined && v !== null, 'signal data is required')
  .refine((v) => jsonBytes(v) <= MAX_SIGNAL_BYTES, `signal data is limited to ${MAX_SIGNAL_BYTES} bytes`)

function jsonBytes(v: unknown): number {
  const json = JSON.stringify(v) ?? ''
  // Each UTF-16 unit is at most 3 UTF-8 bytes: only long strings need encoding to be measured.
  return json.length * 3 <= MAX_SIGNAL_BYTES ? json.length : new TextEncoder().encode(json).byteLength
}
// Not strict: a `from` a client adds is dropped (the server stamps its own).
export const SendSignal = z.object({ to: PeerId, data: SignalData })
export type SendSignal = z.infer<typeof SendSignal>

export const TransferStatus = z.enum(['completed', 'cancelled', 'declined', 'failed'])
export type TransferStatus = z.infer<typeof TransferStatus>

/** The id a sender gives a transfer (the same as on the peers' control channel). */
const AnnouncedTransferId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'not a transfer id')

/**
 * Stats only: sizes, counts and timing, never names or content. `id` names a transfer this socket
 * announced with `transfer:started`: a report may not claim more bytes or files than it offered.
 */
export const TransferReport = z
  .object({
    id: AnnouncedTransferId,
    bytes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    files: z.number().int().nonnegative().max(100_000),
    ms: z.number().int().nonnegative().max(7 * 24 * 3600 * 1000),
    status: TransferStatus,
  })
  .strict()
export type TransferReport = z.infer<typeof TransferReport>

/** A transfer has started: what it offers, in total (live "transfers in progress" counter, and the bound of its report). */
export const TransferStarted = z
  .object({
    id: AnnouncedTransferId,
    bytes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    files: z.number().int().min(1).max(MAX_P2P_FILES),
  })
  .strict()
export type TransferStarted = z.infer<typeof TransferStarted>

/*
 * Server relay: when two members cannot connect directly, their bytes go through the server on
 * relay channels. A channel stands in for an RTCDataChannel between two members of one room (or of
 * one nearby group): ordered, reliable, binary or text messages, both ways. Each message is
 * acknowledged once the far end has consumed it (its handler called the ack), so the acks are the
 * flow control: keep at most `window` messages unacknowledged. Nothing is stored on the server.
 */
export const RelayId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'not a relay id')

/** `bytes`: the most this channel will carry (binary bytes plus UTF-8 text bytes, both ways). */
export const OpenRelay = z.object({ to: PeerId, bytes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER) }).strict()
export type OpenRelay = z.input<typeof OpenRelay>

/** Binary arrives as a Buffer on the server and as an ArrayBuffer in browsers. */
export const RelayPayload = z.union([
  z.string().max(MAX_RELAY_CHUNK_BYTES),
  z.instanceof(Uint8Array).refine((b) => b.byteLength <= MAX_RELAY_CHUNK_BYTES, 'relay message too big'),
  z.instanceof(ArrayBuffer).refine((b) => b.byteLength <= MAX_RELAY_CHUNK_BYTES, 'relay message too big'),
])
export type RelayPayload = string | Uint8Array | ArrayBuffer

export const RelayData = z.object({ id: RelayId, data: RelayPayload }).strict()
export type RelayData = z.input<typeof RelayData>

export const CloseRelay = z.object({ id: RelayId, reason: z.string().max(200).optional() }).strict()
export type CloseRelay = z.input<typeof CloseRelay>

/** Why a relay channel ended. */
export const RelayCloseReason = z.enum([
  /** the other end closed it (relay:close) */
  'closed',
  /** the other end disconnected or left the room */
  'peer_gone',
  /** a message was not acknowledged in time */
  'stalled',
  /** more bytes than opened for, or more messages in flight than `window` */
  'limit',
  /** the server is shutting down or lost track of the other end */
  'server',
])
export type RelayCloseReason = z.infer<typeof RelayCloseReason>

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
  /** disconnected, its seat held for the grace period (see `peer:reconnecting`) */
  reconnecting?: boolean
}

/** Given to a member that joined with `resumable: true`. */
export interface Reconnect {
  /** for `room:resume` (rooms) or `nearby:join` (nearby); a new one comes with every resume */
  token: string
  /** how long the seat is held after a disconnect */
  graceSeconds: number
}

/** The nearby group of this device's network. */
export interface NearbyInfo {
  /** opaque; never the address */
  id: string
  capacity: number
}

export interface RelayOpened {
  relay: {
    id: string
    /** the biggest message this server relays */
    chunkBytes: number
    /** messages that may be unacknowledged at once, each way */
    window: number
  }
}

export interface AckError {
  ok: false
  /** `retryAfter` (seconds): when trying again may succeed (`download_in_progress`, …) */
  error: { code: ErrorCode; message: string; retryAfter?: number }
}
export type Ack<T extends object = object> = ({ ok: true } & T) | AckError
export type AckFn<T extends object = object> = (res: Ack<T>) => void

export interface RoomCreated {
  room: RoomInfo
  self: Peer
  /** only when asked for with `resumable: true` */
  reconnect?: Reconnect
}
export interface RoomJoined extends RoomCreated {
  peers: Peer[]
}
export interface NearbyJoined {
  nearby: NearbyInfo
  self: Peer
  peers: Peer[]
  reconnect?: Reconnect
}

export interface ClientToServer {
  'room:create': (p: CreateRoom, ack: AckFn<RoomCreated>) => void
  'room:join': (p: JoinRoom, ack: AckFn<RoomJoined>) => void
  'room:resume': (p: ResumeRoom, ack: AckFn<RoomJoined & { reconnect: Reconnect }>) => void
  'room:leave': (p: Record<string, never>, ack: AckFn) => void
  'nearby:join': (p: JoinNearby, ack: AckFn<NearbyJoined>) => void
  'nearby:leave': (p: Record<string, never>, ack: AckFn) => void
  signal: (p: SendSignal, ack: AckFn) => void
  'relay:open': (p: OpenRelay, ack: AckFn<RelayOpened>) => void
  'relay:data': (p: RelayData, ack: AckFn) => void
  'relay:close': (p: CloseRelay, ack: AckFn) => void
  'transfer:started': (p: TransferStarted, ack: AckFn) => void
  'transfer:report': (p: TransferReport, ack: AckFn) => void
  /** leave a file in the room (room-files.ts): the answer is what the share upload API needs */
  'files:leave': (p: LeaveFile, ack: AckFn<{ upload: LeftUpload }>) => void
  /** the file this member left is uploaded: the room hears `files:added` */
  'files:ready': (p: RoomFileRef, ack: AckFn<{ file: RoomFile }>) => void
  'files:list': (p: Record<string, never>, ack: AckFn<{ files: RoomFile[] }>) => void
  'files:url': (p: RoomFileRef, ack: AckFn<RoomFileUrl>) => void
  /** only by the member who left it */
  'files:remove': (p: RoomFileRef, ack: AckFn) => void
  /** host a `direct` share's link room (links.ts): the owner's page */
  'link:host': (p: HostLink, ack: AckFn<LinkHosted>) => void
  /** wait for, then reach, a `direct` share's hosts: a recipient */
  'link:join': (p: JoinLink, ack: AckFn<LinkJoined>) => void
  /** a recipient asks the hosts for a direct download (hosts hear `link:claimed`) */
  'link:claim': (p: ClaimLink, ack: AckFn<LinkClaimed>) => void
  /** a host: that claim's files are delivered whole (counts the download once) */
  'link:delivered': (p: LinkDelivered, ack: AckFn) => void
  /** a host or the recipient: that claim's direct transfer failed */
  'link:failed': (p: LinkFailed, ack: AckFn) => void
  'link:leave': (p: Record<string, never>, ack: AckFn) => void
}

/**
 * The schema each client → server event is parsed with, by event name: the server's handlers use
 * these, and a test sweeps every event with bad input.
 */
export const ROOMS_CLIENT_EVENTS = {
  'room:create': CreateRoom,
  'room:join': JoinRoom,
  'room:resume': ResumeRoom,
  'room:leave': LeaveRoom,
  'nearby:join': JoinNearby,
  'nearby:leave': LeaveNearby,
  signal: SendSignal,
  'relay:open': OpenRelay,
  'relay:data': RelayData,
  'relay:close': CloseRelay,
  'transfer:started': TransferStarted,
  'transfer:report': TransferReport,
  'files:leave': LeaveFile,
  'files:ready': RoomFileRef,
  'files:list': ListRoomFiles,
  'files:url': RoomFileRef,
  'files:remove': RoomFileRef,
  ...LINK_CLIENT_EVENTS,
} as const satisfies { [E in keyof ClientToServer]: z.ZodType }

/**
 * `roomId` says which group an event is about: the room (`room.id`), the nearby group
 * (`nearby.id`) or the link room (`link.id`); a device can be in one of each at once, with the same
 * peer id in all.
 */
export interface ServerToClient {
  /** a new member, or one that came back after being announced gone; a known peer id: update it */
  'peer:joined': (p: { roomId: string; peer: Peer }) => void
  'peer:left': (p: { roomId: string; peerId: string }) => void
  /** lost its connection; its seat is held for the grace period (then `peer:left`, or `peer:back`) */
  'peer:reconnecting': (p: { roomId: string; peerId: string }) => void
  /** the same peer again, after `peer:reconnecting` */
  'peer:back': (p: { roomId: string; peer: Peer }) => void
  signal: (p: { from: string; data: unknown }) => void
  /** the room ended (or was lost): join it again by its link if it should go on */
  'room:closed': (p: { roomId: string }) => void
  /** `from` opened a relay channel to this device */
  'relay:opened': (p: { id: string; from: string; bytes: number; chunkBytes: number; window: number }) => void
  /** call `ack` once the message is consumed (written): that is the sender's credit */
  'relay:data': (p: { id: string; data: RelayPayload }, ack: () => void) => void
  'relay:closed': (p: { id: string; reason: RelayCloseReason }) => void
  /** a file was left in the room (room-files.ts) */
  'files:added': (p: { roomId: string; file: RoomFile }) => void
  /** a left file was removed by the member who left it */
  'files:removed': (p: { roomId: string; id: string }) => void
  /** hosts of a link: a recipient claimed a direct download — send it `files` (all when null) now */
  'link:claimed': (p: { linkId: string; claimId: string; peerId: string; files: string[] | null }) => void
  /** hosts of a link: a cloud download of the share started, progressed (at most once a second) or ended */
  'link:receipt': (p: { linkId: string; receipt: LinkReceipt }) => void
  /** hosts of a link: the recipient of `claimId` gave the direct transfer up (`link:failed`) — stop sending it */
  'link:claim-failed': (p: { linkId: string; claimId: string }) => void
}

/** GET /api/rtc/ice-servers */
export const IceServer = z.object({
  urls: z.union([z.string(), z.array(z.string())]),
  username: z.string().optional(),
  credential: z.string().optional(),
})
export type IceServer = z.infer<typeof IceServer>
export const IceServersResponse = z
  .object({
    iceServers: z.array(IceServer),
    /** seconds the TURN credentials stay valid (0 without TURN) */
    ttl: z.number().int(),
  })
  .meta({ id: 'IceServersResponse' })
export type IceServersResponse = z.infer<typeof IceServersResponse>

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
  /** "I made a new connection for you": drop any older one to me (after a reload under the same peer id) */
  z.object({ reset: z.literal(true) }),
])
export type PeerSignal = z.infer<typeof PeerSignal>

// The transfer messages between two browsers are in peer.ts (P2P v2).
