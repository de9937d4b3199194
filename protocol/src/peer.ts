import { z } from 'zod'
import { MAX_P2P_FILES } from './rooms'

/*
 * Browser-to-browser messages of P2P v2. They travel peer to peer (the server never sees them, or
 * only as opaque bytes on the relay), but a peer is as untrusted as any client: the receiving app
 * parses them with these schemas.
 *
 * Two kinds of channel per pair of devices:
 * - the control channel (one per pair): `PeerMessage` JSON;
 * - a transfer channel (one per transfer and stream): raw binary chunks, and `ChannelFrame` JSON
 *   text frames in both directions (position and end-of-file from the sender, credit from the receiver).
 */

export const PEER_PROTOCOL_VERSION = 2
/** Binary chunks are at most this big (and at most what both sides' SCTP accepts). */
export const MAX_CHUNK_BYTES = 256 * 1024

const TransferId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/)
const FileIndex = z.number().int().min(0).max(MAX_P2P_FILES - 1)
const Offset = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/)

/** A thumbnail is a small raster image as a data: URL (never SVG or HTML), at most this many characters. */
export const MAX_THUMBNAIL_CHARS = 8 * 1024
export const Thumbnail = z
  .string()
  .max(MAX_THUMBNAIL_CHARS)
  .regex(/^data:image\/(jpeg|png|webp);base64,[A-Za-z0-9+/]+={0,2}$/)

export const PeerFile = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  name: z.string().min(1).max(1024),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  type: z.string().max(255),
  /** the sender's File.lastModified: a re-picked file after a reload must be the same file */
  lastModified: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
  /** an image's thumbnail, made by the sender; anything else in its place is dropped, not the offer */
  thumb: Thumbnail.optional().catch(undefined),
})
export type PeerFile = z.infer<typeof PeerFile>

/** Where a receiver stands in a transfer: the first file not yet complete, and its bytes on disk. */
export const Position = z.object({ file: FileIndex, offset: Offset })
export type Position = z.infer<typeof Position>

export const PeerMessage = z.discriminatedUnion('t', [
  /** first message on a new control channel: what this side can do */
  z.object({ t: z.literal('hello'), v: z.number().int().min(1).max(1000), maxMessageSize: z.number().int().min(0).max(2 ** 31) }),
  z.object({ t: z.literal('offer'), id: TransferId, files: z.array(PeerFile).min(1).max(MAX_P2P_FILES) }),
  /** the receiver accepts, from `at` (the start, or where a resumed transfer stopped) */
  z.object({ t: z.literal('accept'), id: TransferId, at: Position }),
  z.object({ t: z.literal('decline'), id: TransferId }),
  z.object({ t: z.literal('cancel'), id: TransferId, reason: z.enum(['cancelled', 'damaged', 'receiver-error', 'sender-error']).optional() }),
  /** after an interruption, either side asks to go on; the receiver answers with `accept` */
  z.object({ t: z.literal('resume'), id: TransferId }),
  /** the receiver checked one file's SHA-256 */
  z.object({ t: z.literal('verified'), id: TransferId, file: FileIndex, ok: z.boolean() }),
  z.object({ t: z.literal('complete'), id: TransferId }),
  /**
   * this page is going away (closed, reloaded, navigated): the other side drops the link at once
   * (its transfers are interrupted, as after a lost connection) instead of waiting for ICE to notice
   */
  z.object({ t: z.literal('bye') }),
])
export type PeerMessage = z.infer<typeof PeerMessage>

export const ChannelFrame = z.discriminatedUnion('t', [
  /** sender → receiver: the binary chunks that follow belong to `file`, starting at `offset` */
  z.object({ t: z.literal('at'), file: FileIndex, offset: Offset }),
  /** sender → receiver: the file's last chunk was sent; its whole-file SHA-256 */
  z.object({ t: z.literal('eof'), file: FileIndex, sha256: Sha256Hex }),
  /** receiver → sender: bytes of this channel written to disk so far (the credit window) */
  z.object({ t: z.literal('ack'), bytes: Offset }),
])
export type ChannelFrame = z.infer<typeof ChannelFrame>

/** Parses a JSON text frame with a schema; null for anything malformed. */
export function parseFrame<T>(text: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }): T | null {
  if (text.length > 1_000_000) return null
  try {
    const parsed = schema.safeParse(JSON.parse(text))
    return parsed.success ? parsed.data : null
  } catch {
    return null
  }
}
