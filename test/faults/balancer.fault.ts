/**
 * Two instances behind Debian's nginx running the shipped deploy/nginx.conf (round-robin, no sticky
 * sessions): cloud links work whichever instance answers each request, a P2P room with one browser
 * page on each instance transfers a file, an instance restarting behind nginx costs no request, and
 * behind a proxy that strips Upgrade the room page says why P2P cannot start.
 */
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { request, type ClientRequest } from 'node:http'
import type { Browser } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { curl, randomFile as randomUpload } from '../../backend/test/support/files'
import { connectRooms, nextEvent, type RoomsClient } from '../../backend/test/support/rooms-client'
import { launchBrowser } from '../support/browser'
import { randomFile, sha256File, tempDir } from '../support/files'
import { accept, connectedTo, device, enterRoom, savedSha, send, watch, type Device } from '../support/p2p'
import { consistencyProblems, type StoreLayout } from './support/consistency'
import { startLoad, unexpected } from './support/load'
import { startNginx, type Nginx } from './support/nginx'
import { uploadText, type Uploaded } from './support/shares'
import { alive, startCluster, type Cluster } from './support/stack'

/** The per-address connection cap on each instance: far below what nginx opens to it under load. */
const CAP = 4
let cluster: Cluster
let layout: StoreLayout
let nginx: Nginx
let browser: Browser
let files: ReturnType<typeof tempDir>
const opened: Device[] = []
const sockets: RoomsClient[] = []
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const ports = () => cluster.apps.map((a) => a.port)
/** Which instances the access log says served the requests for `uri` (distinct upstream addresses). */
const upstreamsOf = (uri: RegExp) => new Set(nginx.accessLog().filter((l) => uri.test(l.split(' ')[1] ?? '')).map((l) => l.split(' ')[3]))
/** Established connections to `port` (from nginx, all from 127.0.0.1), as the kernel counts them. */
const connectionsTo = (port: number) => execFileSync('ss', ['-Htn', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' }).split('\n').filter(Boolean).length
const socketsOn = async (base: string) => Number(/^sharesync_sockets_connected (\d+)/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1] ?? -1)
/** Room sockets per instance, as the instances themselves count them. */
const socketCounts = () => Promise.all(cluster.apps.map((app) => socketsOn(app.url)))
const total = (n: number) => (counts: number[]) => counts.reduce((x, y) => x + y) === n

/**
 * A device that opens the room link through nginx and whose room socket lands on instance `want`.
 * Round-robin places a page's WebSocket by its turn among all the requests the page makes: when it
 * lands on the other instance, the device leaves the room (as a person would, so that `host` drops
 * it at once rather than keeping a second "Bob phone" whose tab just vanished), one request shifts
 * nginx's turn, and a fresh one tries.
 */
async function joinOnInstance(link: string, want: number, host: Device): Promise<Device> {
  const before = (await socketCounts()).reduce((x, y) => x + y)
  for (let attempt = 1; ; attempt++) {
    const d = await device(browser, 'Bob phone')
    opened.push(d)
    await d.page.goto(link)
    await expect.poll(socketCounts).toSatisfy(total(before + 1))
    if ((await socketCounts())[want] === 1) return d
    if (attempt === 8) throw new Error(`8 devices in a row got their room socket on another instance than ${want}`)
    await d.page.getByRole('button', { name: 'Leave room' }).click()
    await expect.poll(() => host.page.getByTestId('peer').count()).toBe(0)
    await d.context.close()
    await expect.poll(socketCounts).toSatisfy(total(before))
    await fetch(`${nginx.url}/api/health`)
  }
}

beforeAll(async () => {
  cluster = await startCluster({ instances: 2, env: { TRUST_PROXY: 'loopback', MAX_CONNECTIONS_PER_ADDRESS: String(CAP) } })
  layout = { kind: 's3', dir: cluster.s3.dir, bucket: cluster.s3.bucket }
  files = tempDir()
  ;[nginx, browser] = await Promise.all([startNginx(ports()), launchBrowser()])
})
afterAll(async () => {
  for (const s of sockets) s.disconnect()
  for (const d of opened) await d.context.close().catch(() => undefined)
  await browser?.close()
  files?.remove()
  await nginx?.stop()
  await cluster?.stop()
})
afterEach(async () => {
  await expect.poll(() => consistencyProblems(cluster.dbUrl, layout, { orphans: false })).toEqual([])
})

describe('two instances behind nginx, round-robin', () => {
  it('a curl upload streamed through nginx downloads byte-identical, whichever instance answers each request', async () => {
    const file = randomUpload(6 * 2 ** 20, 'through-nginx.bin')
    const up = await curl(['-T', file.path, `${nginx.url}/api/upload/through-nginx.bin`])
    expect(up.status).toBe(201)
    const share = JSON.parse(up.body) as Uploaded
    // The link the app made names the address the client used (nginx's), port included.
    expect(share.url).toBe(`${nginx.url}/s/${share.id}`)
    for (let i = 0; i < 4; i++) {
      expect((await fetch(`${nginx.url}/api/shares/${share.id}`)).status).toBe(200)
      const bytes = Buffer.from(await (await fetch(`${nginx.url}/api/shares/${share.id}/download`)).arrayBuffer())
      expect(sha(bytes)).toBe(file.sha256)
    }
    expect(upstreamsOf(new RegExp(`^/api/shares/${share.id}`)).size).toBe(2)
  })

  it('a browser-style multipart upload whose steps land on alternating instances finalizes and downloads', async () => {
    const bytes = randomBytes(6 * 2 ** 20)
    const post = (path: string, body: unknown, token?: string) =>
      fetch(`${nginx.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { 'x-owner-token': token } : {}) }, body: JSON.stringify(body) })
    const created = (await (await post('/api/shares', { files: [{ name: 'parts.bin', size: bytes.length, type: 'application/octet-stream' }] })).json()) as {
      id: string
      ownerToken: string
      files: { id: string; partSize: number; partCount: number }[]
    }
    const file = created.files[0]!
    const parts = []
    for (let n = 1; n <= file.partCount; n++) {
      const signed = (await (await post(`/api/shares/${created.id}/files/${file.id}/parts`, { partNumbers: [n] }, created.ownerToken)).json()) as { parts: { url: string }[] }
      const put = await fetch(signed.parts[0]!.url, { method: 'PUT', body: bytes.subarray((n - 1) * file.partSize, n * file.partSize) })
      expect(put.status).toBe(200)
      parts.push({ partNumber: n, etag: put.headers.get('etag')! })
    }
    expect((await post(`/api/shares/${created.id}/files/${file.id}/complete`, { parts }, created.ownerToken)).status).toBe(200)
    expect((await post(`/api/shares/${created.id}/finalize`, {}, created.ownerToken)).status).toBe(200)
    const got = Buffer.from(await (await fetch(`${nginx.url}/api/shares/${created.id}/download`)).arrayBuffer())
    expect(sha(got)).toBe(sha(bytes))
    expect(upstreamsOf(new RegExp(`^/api/shares/${created.id}/`)).size).toBe(2)
  })

  it('a P2P room with one device on each instance, both pages through nginx: a 256 KiB file goes from one to the other over WebRTC, byte-identical', async () => {
    const path = randomFile(files.dir, 'across-instances.bin', 256 * 1024)
    const a = await device(browser, 'Alice laptop')
    opened.push(a)
    const { link } = await enterRoom(nginx.url, [a], { linked: false })
    await expect.poll(socketCounts).toSatisfy(total(1))
    const aliceOn = (await socketCounts()).indexOf(1)
    const b = await joinOnInstance(link, 1 - aliceOn, a)
    expect(await socketCounts()).toEqual([1, 1])
    await connectedTo(a, 1)
    await connectedTo(b, 1)
    await send(a, path, 'Bob phone')
    await accept(b)
    await expect.poll(() => b.page.getByTestId('transfer-path').textContent()).toContain('connected directly')
    const [sent, received] = await Promise.all([watch(a, 'send', 30_000), watch(b, 'receive', 30_000)])
    expect([sent.phase, received.phase]).toEqual(['completed', 'completed'])
    expect(await savedSha(b)).toBe(await sha256File(path))
    expect([...a.errors, ...b.errors]).toEqual([])
    await Promise.all([a.context.close(), b.context.close()])
  })

  it('long-polling through the balancer is refused with a clear error, not a session that breaks on its next request', async () => {
    const res = await fetch(`${nginx.url}/socket.io/?EIO=4&transport=polling`)
    expect(res.status).toBe(400)
    expect(await res.text()).toContain('Transport unknown')
  })

  it("every connection comes from nginx's address: uploads holding more connections than MAX_CONNECTIONS_PER_ADDRESS on each instance do not get the proxy refused (TRUST_PROXY)", async () => {
    const share = await uploadText(nginx.url, 'capped.txt', 'behind the cap')
    // Uploads that stay open (bodies streamed through nginx, a few bytes each), CAP + 2 per instance.
    const held: ClientRequest[] = []
    for (let i = 0; i < 2 * (CAP + 2); i++) {
      const req = request(`${nginx.url}/api/upload/held-${i}.bin`, { method: 'PUT', headers: { 'Transfer-Encoding': 'chunked' } })
      req.on('error', () => undefined)
      req.write('held')
      held.push(req)
    }
    try {
      await expect.poll(() => ports().map(connectionsTo).every((n) => n > CAP)).toBe(true)
      const answers = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => (await fetch(`${nginx.url}${i % 2 ? '/api/health/ready' : `/api/shares/${share.id}`}`)).status),
      )
      expect(answers).toEqual(Array(20).fill(200))
    } finally {
      for (const req of held) req.destroy()
    }
  })

  it('an instance restarting behind nginx (SIGTERM, then up again): every request through nginx still gets its answer', async () => {
    const shares = [await uploadText(nginx.url, 'rolling.txt', 'rolling restart')]
    const load = startLoad(() => [nginx.url], shares, { clients: 10, kinds: ['metadata'] })
    await expect.poll(() => load.snapshot().requests).toBeGreaterThan(100)
    await cluster.apps[0]!.stop()
    const during = load.snapshot().requests
    await expect.poll(() => load.snapshot().requests).toBeGreaterThan(during + 100)
    await cluster.startInstance(0)
    const after = load.snapshot().requests
    await expect.poll(() => load.snapshot().requests).toBeGreaterThan(after + 100)
    const report = await load.stop()
    expect(unexpected(report, [200])).toEqual({})
    expect(cluster.apps.map(alive)).toEqual([true, true])
  })
})

describe('rooms when an instance freezes or dies', () => {
  it('one instance frozen (SIGSTOP): joining a room through the other one still works', async () => {
    const a = await connectRooms(cluster.apps[0]!.url)
    const b = await connectRooms(cluster.apps[1]!.url)
    sockets.push(a, b)
    const created = await a.emitWithAck('room:create', { name: 'A' })
    if (!created.ok) throw new Error(created.error.message)
    expect(await b.emitWithAck('room:join', { secret: created.room.secret, name: 'B' })).toMatchObject({ ok: true })
    cluster.apps[1]!.proc.kill('SIGSTOP')
    try {
      const c = await connectRooms(cluster.apps[0]!.url)
      sockets.push(c)
      const joined = await c.timeout(5000).emitWithAck('room:join', { secret: created.room.secret, name: 'C' })
      expect(joined).toMatchObject({ ok: true })
      c.disconnect()
    } finally {
      cluster.apps[1]!.proc.kill('SIGCONT')
    }
    a.disconnect()
    b.disconnect()
  })

  it('a killed instance (kill -9): the devices in its rooms are announced gone to the others', async () => {
    const a = await connectRooms(cluster.apps[0]!.url)
    const b = await connectRooms(cluster.apps[1]!.url)
    sockets.push(a, b)
    const created = await a.emitWithAck('room:create', { name: 'A' })
    if (!created.ok) throw new Error(created.error.message)
    const joined = await b.emitWithAck('room:join', { secret: created.room.secret, name: 'B' })
    if (!joined.ok) throw new Error(joined.error.message)
    const left = nextEvent(a, 'peer:left', 20_000)
    await cluster.apps[1]!.kill()
    expect((await left).peerId).toBe(joined.self.peerId)
    a.disconnect()
    await cluster.startInstance(1)
  })
})

describe('behind a proxy that strips Upgrade', () => {
  let stripped: Nginx
  beforeAll(async () => {
    stripped = await startNginx(ports(), { stripUpgrade: true })
  })
  afterAll(async () => {
    await stripped?.stop()
  })

  it('cloud links still work, Socket.IO cannot connect, and the room page says WebSocket is blocked on the way', async () => {
    const share = await uploadText(stripped.url, 'no-upgrade.txt', 'cloud links need no WebSocket')
    expect(await (await fetch(`${stripped.url}/api/shares/${share.id}/download`)).text()).toBe('cloud links need no WebSocket')
    await expect(connectRooms(stripped.url)).rejects.toThrow()
    const page = await browser.newPage()
    try {
      await page.goto(`${stripped.url}/r/${randomBytes(16).toString('base64url')}`)
      await expect.poll(() => page.getByRole('alert').allTextContents().then((t) => t.join(' '))).toContain('WebSocket')
      expect((await page.getByRole('alert').allTextContents()).join(' ')).toContain('proxy')
    } finally {
      await page.close()
    }
  })
})
