// The yardsticks for the relay benchmark, in their own node process like the app:
//   socketio: a bare Socket.IO server that forwards `relay:data` from one socket to the other and
//             answers the sender's ack when the receiver acknowledged (the app's flow control, none
//             of its checks: rooms, budgets, caps, the hub);
//   ws:       a bare WebSocket pipe (the `ws` package Socket.IO itself uses): binary messages one way,
//             1-byte acks the other.
// Prints "listening <port>" once ready. Usage: node bare-relay.mjs socketio|ws [port]
import { createServer } from 'node:http'
import { createRequire } from 'node:module'

const backend = createRequire(new URL('../../backend/package.json', import.meta.url))
const mode = process.argv[2]
const http = createServer()

if (mode === 'socketio') {
  const { Server } = backend('socket.io')
  const io = new Server(http, { maxHttpBufferSize: 1024 * 1024, serveClient: false })
  const rooms = io.of('/rooms')
  const sockets = []
  rooms.on('connection', (socket) => {
    sockets.push(socket)
    socket.on('relay:open', (p, ack) => {
      const other = sockets.find((s) => s !== socket && s.connected)
      other.emit('relay:opened', { id: 'bare-relay-channel', from: 'sender', bytes: p.bytes, chunkBytes: 256 * 1024, window: 8 })
      ack({ ok: true, relay: { id: 'bare-relay-channel', chunkBytes: 256 * 1024, window: 8 } })
    })
    socket.on('relay:data', (p, ack) => {
      const other = sockets.find((s) => s !== socket && s.connected)
      other.timeout(30_000).emit('relay:data', p, () => ack({ ok: true }))
    })
  })
} else if (mode === 'ws') {
  // ws, as Socket.IO (via engine.io) has it.
  const ws = createRequire(createRequire(backend.resolve('socket.io')).resolve('engine.io'))('ws')
  const wss = new ws.WebSocketServer({ server: http, maxPayload: 1024 * 1024, perMessageDeflate: false })
  let sender = null
  let receiver = null
  wss.on('connection', (socket, req) => {
    if (req.url === '/send') sender = socket
    else receiver = socket
    socket.on('message', (data, isBinary) => {
      if (socket === sender) receiver?.send(data, { binary: isBinary })
      else sender?.send(data, { binary: isBinary })
    })
  })
} else {
  process.stderr.write('usage: bare-relay.mjs socketio|ws [port]\n')
  process.exit(2)
}

http.listen(Number(process.argv[3] ?? 0), '127.0.0.1', () => process.stdout.write(`listening ${http.address().port}\n`))
process.on('SIGTERM', () => process.exit(0))
