/**
 * A small TURN client (RFC 8656 over UDP or TCP) for tests against a real coturn: Allocate with
 * long-term credentials, CreatePermission, Send/Data indications. Hand-written STUN framing: the
 * point is to see the server's exact answer (403 Forbidden, 442, 486…), which turnutils_uclient
 * does not report.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto'
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { connect, isIPv4, type Socket as TcpSocket } from 'node:net'

const MAGIC = 0x2112a442
const ATTR = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  XOR_PEER_ADDRESS: 0x0012,
  DATA: 0x0013,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_ADDRESS_FAMILY: 0x0017,
  REQUESTED_TRANSPORT: 0x0019,
} as const
const METHOD = { BINDING: 0x001, ALLOCATE: 0x003, CREATE_PERMISSION: 0x008, SEND: 0x006, DATA: 0x007 } as const

const CLASS = { REQUEST: 0, INDICATION: 1, SUCCESS: 2, ERROR: 3 } as const

const messageType = (method: number, cls: number) => (method & 0x0f) | ((method & 0x70) << 1) | ((method & 0xf80) << 2) | ((cls & 1) << 4) | ((cls & 2) << 7)
function splitType(type: number): { method: number; cls: number } {
  return { method: (type & 0x0f) | ((type >> 1) & 0x70) | ((type >> 2) & 0xf80), cls: ((type >> 4) & 1) | ((type >> 7) & 2) }
}

interface Attr {
  type: number
  value: Buffer
}

export interface StunMessage {
  method: number
  cls: number
  transactionId: Buffer
  attrs: Attr[]
}

function attr(type: number, value: Buffer): Buffer {
  const pad = (4 - (value.length % 4)) % 4
  const head = Buffer.alloc(4)
  head.writeUInt16BE(type, 0)
  head.writeUInt16BE(value.length, 2)
  return Buffer.concat([head, value, Buffer.alloc(pad)])
}

function encode(method: number, cls: number, transactionId: Buffer, attrs: Attr[], integrityKey?: Buffer): Buffer {
  let body = Buffer.concat(attrs.map((a) => attr(a.type, a.value)))
  const header = (length: number) => {
    const h = Buffer.alloc(20)
    h.writeUInt16BE(messageType(method, cls), 0)
    h.writeUInt16BE(length, 2)
    h.writeUInt32BE(MAGIC, 4)
    transactionId.copy(h, 8)
    return h
  }
  if (integrityKey) {
    // The HMAC covers the message with its length already counting the MESSAGE-INTEGRITY attribute.
    const hmac = createHmac('sha1', integrityKey).update(Buffer.concat([header(body.length + 24), body])).digest()
    body = Buffer.concat([body, attr(ATTR.MESSAGE_INTEGRITY, hmac)])
  }
  return Buffer.concat([header(body.length), body])
}

function decode(buf: Buffer): StunMessage | null {
  if (buf.length < 20 || buf.readUInt32BE(4) !== MAGIC) return null
  const { method, cls } = splitType(buf.readUInt16BE(0))
  const length = buf.readUInt16BE(2)
  const attrs: Attr[] = []
  for (let at = 20; at + 4 <= 20 + length; ) {
    const type = buf.readUInt16BE(at)
    const len = buf.readUInt16BE(at + 2)
    attrs.push({ type, value: buf.subarray(at + 4, at + 4 + len) })
    at += 4 + len + ((4 - (len % 4)) % 4)
  }
  return { method, cls, transactionId: buf.subarray(8, 20), attrs }
}

/** XOR-PEER-ADDRESS / XOR-RELAYED-ADDRESS, IPv4 or IPv6 (an IPv4-mapped IPv6 address stays IPv6). */
export function xorAddress(ip: string, port: number, transactionId: Buffer): Buffer {
  const v4 = isIPv4(ip)
  const value = Buffer.alloc(v4 ? 8 : 20)
  value.writeUInt8(v4 ? 0x01 : 0x02, 1)
  value.writeUInt16BE(port ^ (MAGIC >>> 16), 2)
  const addr = v4 ? Buffer.from(ip.split('.').map(Number)) : ipv6Bytes(ip)
  const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transactionId])
  for (let i = 0; i < addr.length; i++) value[4 + i] = addr[i]! ^ mask[i]!
  return value
}

function readXorAddress(value: Buffer, transactionId: Buffer): { ip: string; port: number } {
  const family = value.readUInt8(1)
  const port = value.readUInt16BE(2) ^ (MAGIC >>> 16)
  const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transactionId])
  const bytes = Buffer.from(value.subarray(4).map((b, i) => b ^ mask[i]!))
  if (family === 0x01) return { ip: [...bytes].join('.'), port }
  const groups = []
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16))
  return { ip: groups.join(':'), port }
}

function ipv6Bytes(ip: string): Buffer {
  let text = ip
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4Tail) {
    const [a, b, c, d] = v4Tail[1]!.split('.').map(Number) as [number, number, number, number]
    text = text.slice(0, -v4Tail[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [left, right] = text.includes('::') ? text.split('::') : [text, undefined]
  const l = left ? left.split(':') : []
  const r = right ? right.split(':') : []
  const groups = right === undefined ? l : [...l, ...Array(8 - l.length - r.length).fill('0'), ...r]
  const out = Buffer.alloc(16)
  groups.forEach((g: string, i: number) => out.writeUInt16BE(parseInt(g || '0', 16), i * 2))
  return out
}

export interface TurnAnswer {
  ok: boolean
  /** the error code of an error answer (401, 403, 442, 486…), 0 on success */
  code: number
  reason: string
  message: StunMessage
}

export interface TurnCredentials {
  username: string
  password: string
}

/** One client transport address (one UDP socket or one TCP connection) talking to a TURN server. */
export class TurnClient {
  private realm = ''
  private nonce = Buffer.alloc(0)
  private key: Buffer | null = null
  private readonly pending = new Map<string, (m: StunMessage) => void>()
  private readonly dataListeners = new Set<(from: { ip: string; port: number }, data: Buffer) => void>()
  private tcpBuffer = Buffer.alloc(0)

  private constructor(
    private readonly transport: { kind: 'udp'; socket: UdpSocket } | { kind: 'tcp'; socket: TcpSocket },
    private readonly server: { host: string; port: number },
    private readonly creds: TurnCredentials,
  ) {
    if (transport.kind === 'udp') transport.socket.on('message', (buf) => this.receive(buf))
    else
      transport.socket.on('data', (chunk: Buffer) => {
        this.tcpBuffer = Buffer.concat([this.tcpBuffer, chunk])
        while (this.tcpBuffer.length >= 20) {
          const total = 20 + this.tcpBuffer.readUInt16BE(2)
          if (this.tcpBuffer.length < total) break
          this.receive(this.tcpBuffer.subarray(0, total))
          this.tcpBuffer = this.tcpBuffer.subarray(total)
        }
      })
  }

  static async open(server: { host: string; port: number }, creds: TurnCredentials, over: 'udp' | 'tcp' = 'udp'): Promise<TurnClient> {
    if (over === 'udp') {
      const socket = createSocket(isIPv4(server.host) ? 'udp4' : 'udp6')
      await new Promise<void>((resolve) => socket.bind(0, isIPv4(server.host) ? '127.0.0.1' : '::1', resolve))
      return new TurnClient({ kind: 'udp', socket }, server, creds)
    }
    const socket = connect(server.port, server.host)
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    return new TurnClient({ kind: 'tcp', socket }, server, creds)
  }

  private receive(buf: Buffer) {
    const message = decode(buf)
    if (!message) return
    if (message.method === METHOD.DATA && message.cls === CLASS.INDICATION) {
      const peer = message.attrs.find((a) => a.type === ATTR.XOR_PEER_ADDRESS)
      const data = message.attrs.find((a) => a.type === ATTR.DATA)
      if (peer && data) for (const l of this.dataListeners) l(readXorAddress(peer.value, message.transactionId), Buffer.from(data.value))
      return
    }
    this.pending.get(message.transactionId.toString('hex'))?.(message)
  }

  private send(buf: Buffer) {
    if (this.transport.kind === 'udp') this.transport.socket.send(buf, this.server.port, this.server.host)
    else this.transport.socket.write(buf)
  }

  /**
   * One request, retransmitted over UDP until answered (RFC 8489's doubling, capped). `attrs` is
   * built from the transaction id (an IPv6 XOR address is masked with it).
   */
  private async request(method: number, attrs: (transactionId: Buffer) => Attr[], signed: boolean): Promise<TurnAnswer> {
    const transactionId = randomBytes(12)
    const auth: Attr[] = signed
      ? [
          { type: ATTR.USERNAME, value: Buffer.from(this.creds.username) },
          { type: ATTR.REALM, value: Buffer.from(this.realm) },
          { type: ATTR.NONCE, value: this.nonce },
        ]
      : []
    const wire = encode(method, CLASS.REQUEST, transactionId, [...attrs(transactionId), ...auth], signed ? this.key! : undefined)
    const message = await new Promise<StunMessage>((resolve, reject) => {
      const id = transactionId.toString('hex')
      let wait = 100
      let timer: NodeJS.Timeout
      const giveUp = setTimeout(() => {
        clearTimeout(timer)
        this.pending.delete(id)
        reject(new Error(`TURN server did not answer method 0x${method.toString(16)}`))
      }, 10_000)
      this.pending.set(id, (m) => {
        clearTimeout(timer)
        clearTimeout(giveUp)
        this.pending.delete(id)
        resolve(m)
      })
      const attempt = () => {
        this.send(wire)
        if (this.transport.kind === 'udp') timer = setTimeout(attempt, (wait = Math.min(wait * 2, 1600)))
      }
      attempt()
    })
    const error = message.attrs.find((a) => a.type === ATTR.ERROR_CODE)
    const code = error ? error.value.readUInt8(2) * 100 + error.value.readUInt8(3) : 0
    return { ok: message.cls === CLASS.SUCCESS, code, reason: error ? error.value.subarray(4).toString('utf8') : '', message }
  }

  /** A request with long-term credentials: the first 401 (or a 438 stale nonce) supplies realm and nonce. */
  private async authenticated(method: number, attrs: (transactionId: Buffer) => Attr[]): Promise<TurnAnswer> {
    let answer = await this.request(method, attrs, this.key !== null)
    for (let i = 0; i < 2 && (answer.code === 401 || answer.code === 438); i++) {
      const realm = answer.message.attrs.find((a) => a.type === ATTR.REALM)
      const nonce = answer.message.attrs.find((a) => a.type === ATTR.NONCE)
      if (!nonce) break
      if (realm) this.realm = realm.value.toString('utf8')
      this.nonce = Buffer.from(nonce.value)
      this.key = createHash('md5').update(`${this.creds.username}:${this.realm}:${this.creds.password}`).digest()
      answer = await this.request(method, attrs, true)
    }
    return answer
  }

  /** Allocate a relay: UDP (17) by default, TCP (6) to check that TCP relays are refused; IPv6 on request. */
  async allocate(opts: { transport?: 'udp' | 'tcp'; family?: 'ipv4' | 'ipv6' } = {}): Promise<TurnAnswer & { relayed?: { ip: string; port: number } }> {
    const attrs: Attr[] = [{ type: ATTR.REQUESTED_TRANSPORT, value: Buffer.from([opts.transport === 'tcp' ? 6 : 17, 0, 0, 0]) }]
    if (opts.family === 'ipv6') attrs.push({ type: ATTR.REQUESTED_ADDRESS_FAMILY, value: Buffer.from([0x02, 0, 0, 0]) })
    const answer = await this.authenticated(METHOD.ALLOCATE, () => attrs)
    const relayed = answer.message.attrs.find((a) => a.type === ATTR.XOR_RELAYED_ADDRESS)
    return { ...answer, relayed: relayed ? readXorAddress(relayed.value, answer.message.transactionId) : undefined }
  }

  /** A plain STUN Binding request (no credentials): answers once the server is up. */
  binding(): Promise<TurnAnswer> {
    return this.request(METHOD.BINDING, () => [], false)
  }

  /** CreatePermission for one peer address. No packet reaches the peer: the server only records it. */
  createPermission(ip: string, port = 9): Promise<TurnAnswer> {
    return this.authenticated(METHOD.CREATE_PERMISSION, (transactionId) => [{ type: ATTR.XOR_PEER_ADDRESS, value: xorAddress(ip, port, transactionId) }])
  }

  /** A Send indication: `data` leaves the relay for `peer` (only ever a loopback test peer). */
  sendIndication(ip: string, port: number, data: Buffer): void {
    const transactionId = randomBytes(12)
    this.send(
      encode(METHOD.SEND, CLASS.INDICATION, transactionId, [
        { type: ATTR.XOR_PEER_ADDRESS, value: xorAddress(ip, port, transactionId) },
        { type: ATTR.DATA, value: data },
      ]),
    )
  }

  /** Resolves with the next Data indication's payload. */
  nextData(ms = 5000): Promise<{ from: { ip: string; port: number }; data: Buffer }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no relayed data within ${ms} ms`)), ms)
      const listener = (from: { ip: string; port: number }, data: Buffer) => {
        clearTimeout(timer)
        this.dataListeners.delete(listener)
        resolve({ from, data })
      }
      this.dataListeners.add(listener)
    })
  }

  close(): void {
    if (this.transport.kind === 'udp') this.transport.socket.close()
    else this.transport.socket.destroy()
  }
}

