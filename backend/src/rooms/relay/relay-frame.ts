/**
 * Frames between instances on the relay bus (Redis pub/sub, one channel per instance): a small
 * binary header and the payload as is, so relayed chunks are never re-encoded.
 *
 *   type u8 | id length u8 | id (ASCII) | seq u32 BE | payload kind u8 | payload
 */
export type RelayFrame =
  /** open the receiving end; `json` is an OpenPayload */
  | { type: 'open'; id: string; open: OpenPayload }
  | { type: 'data'; id: string; seq: number; data: Buffer | string }
  /** the far end consumed message `seq` */
  | { type: 'ack'; id: string; seq: number }
  | { type: 'close'; id: string; reason: string }

export interface OpenPayload {
  /** the opener's peer id and instance */
  from: string
  fromInstance: string
  to: string
  roomId: string
  bytes: number
}

const TYPES = ['open', 'data', 'ack', 'close'] as const
const BINARY = 0
const TEXT = 1
const JSON_BODY = 2

export function encodeFrame(frame: RelayFrame): Buffer {
  const id = Buffer.from(frame.id, 'latin1')
  let kind = JSON_BODY
  let body: Buffer
  switch (frame.type) {
    case 'open':
      body = Buffer.from(JSON.stringify(frame.open))
      break
    case 'close':
      body = Buffer.from(JSON.stringify({ reason: frame.reason }))
      break
    case 'ack':
      body = Buffer.alloc(0)
      break
    case 'data':
      kind = typeof frame.data === 'string' ? TEXT : BINARY
      body = typeof frame.data === 'string' ? Buffer.from(frame.data, 'utf8') : frame.data
      break
  }
  const head = Buffer.alloc(2 + id.length + 5)
  head[0] = TYPES.indexOf(frame.type)
  head[1] = id.length
  id.copy(head, 2)
  head.writeUInt32BE('seq' in frame ? frame.seq : 0, 2 + id.length)
  head[6 + id.length] = kind
  return Buffer.concat([head, body])
}

/** The frame in `buf`, or null when it is not one (another version, or garbage). */
export function decodeFrame(buf: Buffer): RelayFrame | null {
  if (buf.length < 7) return null
  const type = TYPES[buf[0]!]
  const idLen = buf[1]!
  if (!type || buf.length < 7 + idLen) return null
  const id = buf.toString('latin1', 2, 2 + idLen)
  const seq = buf.readUInt32BE(2 + idLen)
  const kind = buf[6 + idLen]
  const body = buf.subarray(7 + idLen)
  try {
    switch (type) {
      case 'open':
        return { type, id, open: JSON.parse(body.toString()) as OpenPayload }
      case 'close':
        return { type, id, reason: String((JSON.parse(body.toString()) as { reason?: unknown }).reason ?? 'server') }
      case 'ack':
        return { type, id, seq }
      case 'data':
        return { type, id, seq, data: kind === TEXT ? body.toString('utf8') : body }
    }
  } catch {
    return null
  }
}
