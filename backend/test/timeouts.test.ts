/**
 * Connections an attacker would hold forever: bodies that stall, headers that trickle, keep-alive
 * connections left open, and many connections from one address. Raw TCP clients against the real
 * server, with short limits configured for the test; every wait is on a socket event.
 */
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DiskStore } from '../src/storage/disk-store'
import { openUnder } from './support/descriptors'
import { startTestServer, type TestServer } from './support/harness'

/** A raw client connection, optionally from another loopback address (Linux answers all of 127/8). */
function rawConnection(server: TestServer, from = '127.0.0.1'): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: server.port, localAddress: from })
    socket.once('connect', () => resolve(new RawClient(socket)))
    socket.once('error', reject)
  })
}

class RawClient {
  received = ''
  readonly closed: Promise<{ at: number }>
  constructor(readonly socket: Socket) {
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => (this.received += d))
    socket.on('error', () => undefined)
    this.closed = new Promise((resolve) => socket.once('close', () => resolve({ at: Date.now() })))
  }
  write(text: string | Buffer) {
    this.socket.write(text)
  }
  /** Resolves once the received text contains `what`. */
  until(what: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.received.includes(what)) {
          this.socket.off('data', check)
          resolve(this.received)
        }
      }
      this.socket.on('data', check)
      this.socket.once('close', () => (this.received.includes(what) ? resolve(this.received) : reject(new Error(`closed without "${what}": ${this.received.slice(0, 200)}`))))
      check()
    })
  }
  status(): number {
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(this.received)?.[1] ?? 0)
  }
  destroy() {
    this.socket.destroy()
  }
}

const head = (method: string, path: string, headers: Record<string, string | number>) =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`

/** The JSON error body of the one answer a client received. */
function errorOf(client: RawClient): { code: string; message: string } {
  const body = client.received.slice(client.received.indexOf('\r\n\r\n') + 4)
  return (JSON.parse(body) as { error: { code: string; message: string } }).error
}

/** Rejects if `promise` takes longer than `ms`: a bound for waits that would otherwise hang the test. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms).unref())])
}

describe('bodies that stall and bodies that are slow', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ HTTP_IDLE_TIMEOUT: '600ms', HTTP_REQUEST_TIMEOUT: '1500ms', HTTP_HEADERS_TIMEOUT: '1s', HTTP_KEEP_ALIVE_TIMEOUT: '500ms' })
  })
  afterAll(() => server?.close())

  it.each([
    ['PUT /api/upload/stalled.bin', head('PUT', '/api/upload/stalled.bin', { 'content-type': 'application/octet-stream', 'content-length': 1_000_000 })],
    ['POST /api/shares', head('POST', '/api/shares', { 'content-type': 'application/json', 'content-length': 5000 })],
    ['POST /api/upload (multipart)', head('POST', '/api/upload', { 'content-type': 'multipart/form-data; boundary=xx', 'content-length': 100_000 })],
  ])('a body that stalls after 10 bytes (%s) is answered 408 and its connection closed after the idle timeout; nothing is stored', async (_what, request) => {
    const client = await rawConnection(server)
    const sent = Date.now()
    client.write(request + '0123456789')
    const { at } = await within(client.closed, 15_000, 'stalled body')
    expect(client.status()).toBe(408)
    expect(client.received).toContain('"code":"request_timeout"')
    process.stdout.write(`stalled body closed after ${at - sent} ms (idle timeout 600 ms)\n`)
    const [ready] = await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM shares WHERE status = 'ready'`)
    expect(ready!.n).toBe(0)
    // The cut request's upload ends too: its half-made share is removed and the store's temp file
    // closed (not left waiting for bytes that never come, with the file open).
    const uploading = async () => (await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM shares WHERE status = 'uploading'`))[0]!.n
    await expect.poll(uploading, { timeout: 10_000 }).toBe(0)
    const store = server.deps.store
    if (!(store instanceof DiskStore)) throw new Error('this test runs on the disk store')
    await expect.poll(() => openUnder(store.dir), { timeout: 10_000 }).toBe(0)
  })

  it('a slow but steady upload outlives both timeouts: only silence is cut, never the total time', async () => {
    const client = await rawConnection(server)
    const size = 40
    client.write(head('PUT', '/api/upload/slow.txt', { 'content-type': 'text/plain', 'content-length': size }))
    // 40 bytes at one per 100 ms: 4 s in all, more than twice the request timeout and 6x the idle timeout.
    for (let i = 0; i < size; i++) {
      client.write('x')
      await new Promise((r) => setTimeout(r, 100))
    }
    await within(client.until('"downloadUrl"'), 15_000, 'slow upload answer')
    expect(client.status()).toBe(201)
    client.destroy()
  })

  it('a JSON body trickled byte by byte (never idle) is cut at the request timeout with 408', async () => {
    const client = await rawConnection(server)
    const body = JSON.stringify({ files: [{ name: 'a'.repeat(200), size: 1 }] })
    client.write(head('POST', '/api/shares', { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }))
    let i = 0
    const drip = setInterval(() => (i < body.length ? client.write(body[i++]!) : clearInterval(drip)), 150)
    await within(client.closed, 15_000, 'trickled JSON body')
    clearInterval(drip)
    expect(client.status()).toBe(408)
    expect(i).toBeLessThan(body.length)
  })

  it('headers that trickle in are cut after the headers timeout (408 request_timeout, as JSON)', async () => {
    const client = await rawConnection(server)
    client.write('GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n')
    const drip = setInterval(() => client.write('X-Slow: 1\r\n'), 150)
    await within(client.closed, 15_000, 'trickled headers')
    clearInterval(drip)
    expect(client.status()).toBe(408)
    expect(errorOf(client)).toMatchObject({ code: 'request_timeout' })
  })

  it('an upload refused before its body (413: declared larger than the limit) is answered while the client is still sending, and its connection takes the rest for a few seconds before closing', async () => {
    const client = await rawConnection(server)
    client.write(head('PUT', '/api/upload/huge.bin', { 'content-type': 'application/octet-stream', 'content-length': 3 * 1024 ** 3 }))
    const chunk = Buffer.alloc(64 * 1024, 7)
    const sending = setInterval(() => client.write(chunk), 20)
    try {
      await within(client.until('"too_large"'), 15_000, 'the 413')
      expect(client.status()).toBe(413)
      // Before: the answer carried Connection: close, so Node destroyed the socket as soon as it was
      // written, and a client still sending got a reset that could swallow the answer (curl: "(55)
      // Send failure: Broken pipe"). Now the rest is read and dropped while it keeps coming.
      const closedEarly = await Promise.race([client.closed.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 1000))])
      expect(closedEarly).toBe(false)
      // …but not for ever: a client that never stops is cut off.
      await within(client.closed, 15_000, 'the drained connection')
    } finally {
      clearInterval(sending)
      client.destroy()
    }
  })

  describe('requests refused by Node before they reach the app', () => {
    /** Sends `request` on a fresh connection and waits for the server to close it. */
    const refused = async (request: string | Buffer) => {
      const client = await rawConnection(server)
      client.write(request)
      await within(client.closed, 15_000, 'refused request')
      return client
    }
    const serves = async () => {
      const next = await rawConnection(server)
      next.write(head('GET', '/api/health', {}))
      await within(next.until('"status":"ok"'), 15_000, 'the next request')
      next.destroy()
      return next.status()
    }

    it('a 20 KB request line gets 431 headers_too_large as JSON with Connection: close, and the server serves the next request', async () => {
      const client = await refused(head('GET', `/api/shares/abcdefgh?q=${'a'.repeat(20_000)}`, {}))
      expect(client.status()).toBe(431)
      expect(errorOf(client)).toMatchObject({ code: 'headers_too_large', message: expect.stringContaining('16 KB') })
      expect(client.received).toMatch(/\r\nconnection: close\r\n/i)
      expect(client.received).toMatch(/\r\ncontent-type: application\/json\r\n/i)
      expect(await serves()).toBe(200)
    })

    it('20 KB of headers get 431 headers_too_large as JSON, and the server serves the next request', async () => {
      const headers = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`X-Filler-${i}`, 'b'.repeat(100)]))
      const client = await refused(head('GET', '/api/health', headers))
      expect(client.status()).toBe(431)
      expect(errorOf(client)).toMatchObject({ code: 'headers_too_large' })
      expect(await serves()).toBe(200)
    })

    it.each([
      ['garbage bytes', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0xff, 0x00, 0x0d, 0x0a, 0x0d, 0x0a])],
      ['a request line that is not HTTP', 'HELLO there\r\n\r\n'],
      ['a header without a colon', 'GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nno colon here\r\n\r\n'],
      ['a Content-Length that is not a number', head('POST', '/api/shares', { 'content-length': 'twelve' })],
    ])('%s: answered 400 bad_request as JSON, and the server serves the next request', async (_what, request) => {
      const client = await refused(request)
      expect(client.status()).toBe(400)
      expect(errorOf(client)).toMatchObject({ code: 'bad_request', message: expect.any(String) })
      expect(await serves()).toBe(200)
    })

    it('clients that hang up right after sending too much or garbage leave the server serving (nothing is written to their closed sockets)', async () => {
      const gone = await Promise.all(
        [head('GET', `/?q=${'a'.repeat(20_000)}`, {}), 'HELLO\r\n\r\n', head('GET', '/api/health', { 'X-Big': 'd'.repeat(20_000) })].flatMap((request) =>
          Array.from({ length: 5 }, async () => {
            const client = await rawConnection(server)
            client.socket.end(request)
            client.destroy()
            return client.closed
          }),
        ),
      )
      expect(gone).toHaveLength(15)
      expect(await serves()).toBe(200)
    })

    it('garbage after an answered request on a keep-alive connection gets its own 400 bad_request as JSON', async () => {
      const client = await rawConnection(server)
      client.write(head('GET', '/api/health', {}))
      await within(client.until('"status":"ok"'), 15_000, 'health answer')
      client.write('\x00\x01 not http\r\n\r\n')
      await within(client.closed, 15_000, 'refused garbage')
      const second = client.received.slice(client.received.indexOf('HTTP/1.1', 1))
      expect(second).toMatch(/^HTTP\/1\.1 400 /)
      expect(JSON.parse(second.slice(second.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'bad_request' } })
    })

    it('a header that never ends gets 408 request_timeout as JSON after the headers timeout, and the server serves the next request', async () => {
      const client = await rawConnection(server)
      client.write('GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: ')
      const drip = setInterval(() => client.write('c'), 100)
      await within(client.closed, 15_000, 'endless header')
      clearInterval(drip)
      expect(client.status()).toBe(408)
      expect(errorOf(client)).toMatchObject({ code: 'request_timeout' })
      expect(client.received).toMatch(/\r\nconnection: close\r\n/i)
      expect(await serves()).toBe(200)
    })
  })

  it('a connection that sends nothing at all is closed too', async () => {
    const client = await rawConnection(server)
    await within(client.closed, 15_000, 'silent connection')
  })

  it('an idle keep-alive connection is closed by the server after the keep-alive timeout', async () => {
    const client = await rawConnection(server)
    client.write(head('GET', '/api/health', {}))
    await within(client.until('"status":"ok"'), 15_000, 'health answer')
    expect(client.status()).toBe(200)
    await within(client.closed, 15_000, 'keep-alive close')
  })
})

describe('concurrent connections per address', () => {
  let server: TestServer
  const clients: RawClient[] = []
  let held: RawClient[] = []
  beforeAll(async () => {
    server = await startTestServer({ MAX_CONNECTIONS_PER_ADDRESS: '3' })
    held = [await open('127.0.0.2'), await open('127.0.0.2'), await open('127.0.0.2')]
    for (const c of held) expect(await ask(c, '/api/health')).toBe(200)
  })
  afterAll(async () => {
    for (const c of clients) c.destroy()
    await server?.close()
  })
  const open = async (from: string) => {
    const c = await rawConnection(server, from)
    clients.push(c)
    return c
  }
  const ask = async (c: RawClient, path: string, headers: Record<string, string> = {}, method = 'GET') => {
    c.write(head(method, path, headers))
    await within(c.until('\r\n\r\n'), 15_000, 'an answer')
    return c.status()
  }

  it('the 4th concurrent connection from 127.0.0.2 gets 429 too_many_connections for an API request and is closed, while 127.0.0.3 still gets through', async () => {
    const fourth = await open('127.0.0.2')
    expect(await ask(fourth, '/api/shares/abcdefgh')).toBe(429)
    await within(fourth.closed, 15_000, 'refused connection closed')
    expect(fourth.received).toContain('"code":"too_many_connections"')
    expect(fourth.received).toMatch(/retry-after: 5/i)

    const other = await open('127.0.0.3')
    expect(await ask(other, '/api/shares/abcdefgh')).toBe(404)
  })

  it('a balancer probing readiness or liveness from an address at its cap is answered 200, then its connection closes', async () => {
    for (const [method, path] of [['GET', '/api/health/ready'], ['GET', '/api/health'], ['HEAD', '/api/health/ready']] as const) {
      const probe = await open('127.0.0.2')
      expect(await ask(probe, path, {}, method)).toBe(200)
      await within(probe.closed, 15_000, 'probe connection closed')
    }
  })

  it('a connection over the cap that sends nothing is closed within seconds, not held for the headers timeout', async () => {
    const silent = await open('127.0.0.2')
    await within(silent.closed, 10_000, 'silent over-cap connection')
    expect(silent.received).toBe('')
  })

  it('a WebSocket upgrade over the cap is refused with 429 and the server keeps serving the held connections', async () => {
    const ws = await open('127.0.0.2')
    ws.write(head('GET', '/socket.io/?EIO=4&transport=websocket', { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': 13, 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' }))
    await within(ws.closed, 15_000, 'refused upgrade')
    expect(ws.status()).toBe(429)
    expect(ws.received).toContain('"code":"too_many_connections"')
    expect(await ask(held[1]!, '/api/health')).toBe(200)
  })

  it('closing one of the held connections makes room again for API requests', async () => {
    held[0]!.destroy()
    await held[0]!.closed
    // The server sees the close a moment after the client: the next connection waits for that event.
    await new Promise<void>((resolve) => {
      const retry = async () => {
        const again = await open('127.0.0.2')
        again.write(head('GET', '/api/shares/abcdefgh', {}))
        await again.until('\r\n\r\n').catch(() => undefined)
        if (again.status() === 404) return resolve()
        setImmediate(() => void retry())
      }
      void retry()
    })
  })
})

describe('concurrent connections behind a trusted proxy (TRUST_PROXY)', () => {
  let server: TestServer
  const clients: RawClient[] = []
  beforeAll(async () => {
    server = await startTestServer({ MAX_CONNECTIONS_PER_ADDRESS: '3', TRUST_PROXY: 'loopback' })
  })
  afterAll(async () => {
    for (const c of clients) c.destroy()
    await server?.close()
  })

  it("every connection comes from the proxy's address: 10 at once from it are all served, the cap does not cap the proxy", async () => {
    for (let i = 0; i < 10; i++) clients.push(await rawConnection(server, '127.0.0.2'))
    const statuses = await Promise.all(
      clients.map(async (c, i) => {
        c.write(head('GET', '/api/shares/abcdefgh', { 'X-Forwarded-For': `203.0.113.${i + 1}` }))
        await within(c.until('\r\n\r\n'), 15_000, 'an answer')
        return c.status()
      }),
    )
    expect(statuses).toEqual(Array(10).fill(404))
  })
})
