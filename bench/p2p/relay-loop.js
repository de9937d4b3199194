/* The server relay from a browser page: Socket.IO (the socket.io-client browser bundle, injected
 * before this) to the app's /rooms namespace, as the room page's relay transport would use it:
 * 256 KiB chunks from one preallocated buffer, at most `window` unacknowledged, the receiver
 * acknowledging each message once it has it. Plain JS on purpose: injected into the app's pages. */
window.relayLoop = {
  socket: null,
  connect() {
    this.socket = window.io('/rooms', { transports: ['websocket'] })
    return new Promise((resolve) => this.socket.once('connect', resolve))
  },
  async create() {
    const res = await this.socket.emitWithAck('room:create', {})
    return { secret: res.room.secret, peerId: res.self.peerId }
  },
  async join(secret) {
    const res = await this.socket.emitWithAck('room:join', { secret })
    return res.self.peerId
  },
  /** Receiver: resolves with the ms between the first and the last byte. */
  receive(total) {
    return new Promise((resolve) => {
      let start = 0
      let received = 0
      this.socket.on('relay:data', (p, ack) => {
        if (start === 0) start = performance.now()
        received += p.data.byteLength
        ack()
        if (received >= total) resolve(performance.now() - start)
      })
    })
  },
  async send(to, total, chunk) {
    const opened = await this.socket.emitWithAck('relay:open', { to, bytes: total })
    if (!opened.ok) throw new Error(opened.error.message)
    const { id, window: win } = opened.relay
    const buf = new Uint8Array(chunk)
    for (let i = 0; i < buf.length; i++) buf[i] = i & 255
    let inFlight = 0
    let wake = null
    for (let sent = 0; sent < total; ) {
      while (inFlight >= win) await new Promise((r) => (wake = r))
      const n = Math.min(chunk, total - sent)
      inFlight++
      this.socket.emit('relay:data', { id, data: n === chunk ? buf : buf.subarray(0, n) }, () => {
        inFlight--
        const w = wake
        wake = null
        if (w) w()
      })
      sent += n
    }
    while (inFlight > 0) await new Promise((r) => (wake = r))
  },
}
