/**
 * The library: links to files and folders of LIBRARY_DIR, served in place by the app. A real server
 * on PGlite and the disk store, a real folder tree with hostile entries (symlinks out, a FIFO, a
 * socket, hidden files), the real `unzip` binary for folder links.
 */
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import {
  appendFileSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type {
  LibraryLinkResponse,
  LibraryListing,
  LibrarySearchResponse,
  MyShare,
  MySharesResponse,
  Page,
  AdminShare,
  StatsResponse,
} from '@sharesync/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './support/harness'
import { browserFetch, CookieJar, signInFlow, startOAuthServer, type FakeGoogleUser, type LocalOAuth } from './support/oauth'

const ADMIN: FakeGoogleUser = { sub: 'l-admin', email: 'librarian@example.com', name: 'Librarian', email_verified: true }
const ALICE: FakeGoogleUser = { sub: 'l-alice', email: 'alice@example.com', name: 'Alice', email_verified: true }
const BOB: FakeGoogleUser = { sub: 'l-bob', email: 'bob@example.com', name: 'Bob', email_verified: true }
/** Mounting needs root (CI runs as root); elsewhere the mount test is skipped, saying why. */
function mountsAllowed(): boolean {
  const probe = mkdtempSync(join(tmpdir(), 'sharesync-mount-probe-'))
  try {
    execFileSync('mount', ['--bind', probe, probe], { stdio: 'ignore' })
    execFileSync('umount', [probe], { stdio: 'ignore' })
    return true
  } catch {
    return false
  } finally {
    rmSync(probe, { recursive: true, force: true })
  }
}
const canMount = mountsAllowed()
const GiB = 2 ** 30
const MiB = 2 ** 20

let oauth: LocalOAuth
let server: TestServer
let work: string
let lib: string
let unixSocket: Server
let admin: CookieJar
let alice: CookieJar
let bob: CookieJar
/** the 1 GiB sparse file's known chunks: random data at its start, middle and end, zeros elsewhere */
let bigSha: string

async function signIn(user: FakeGoogleUser): Promise<CookieJar> {
  oauth.setUser(user)
  const jar = new CookieJar()
  const { response } = await signInFlow(server.url, jar)
  expect(response.status).toBe(302)
  return jar
}

const send = (jar: CookieJar, method: string, path: string, body?: unknown) =>
  browserFetch(jar, `${server.url}${path}`, {
    method,
    headers: { origin: server.url, 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })

const list = (jar: CookieJar, path: string) => browserFetch(jar, `${server.url}/api/library?path=${encodeURIComponent(path)}`)
const link = (jar: CookieJar, body: Record<string, unknown>) => send(jar, 'POST', '/api/library/links', body)

async function makeLink(jar: CookieJar, path: string, extra: Record<string, unknown> = {}): Promise<LibraryLinkResponse> {
  const res = await link(jar, { path, ...extra })
  expect(res.status, await res.clone().text()).toBe(201)
  return (await res.json()) as LibraryLinkResponse
}

/** The recipient's path: the share's download route, then the URL it redirects to. */
async function download(id: string, init: RequestInit = {}): Promise<Response> {
  const first = await fetch(`${server.url}/api/shares/${id}/download`, { redirect: 'manual' })
  if (first.status !== 302) return first
  return fetch(new URL(first.headers.get('location')!, server.url), init)
}

async function sha256(res: Response): Promise<{ hex: string; bytes: number }> {
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk)
    bytes += chunk.length
  }
  return { hex: hash.digest('hex'), bytes }
}

/** Bytes the disk store holds (blobs dir), as `du` counts them. */
const storeUsage = () =>
  Number(
    execFileSync('du', ['-sb', join(server.dataDir, 'blobs')])
      .toString()
      .split('\t')[0],
  )

async function errorCode(res: Response): Promise<string> {
  const body = (await res.json()) as { error: { code: string } }
  return body.error.code
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sharesync-library-'))
  lib = join(work, 'nas')
  const outside = join(work, 'outside')
  mkdirSync(join(lib, 'docs', 'sub', 'deeper'), { recursive: true })
  mkdirSync(join(lib, 'docs', 'empty'))
  mkdirSync(outside)
  writeFileSync(join(outside, 'secret.txt'), 'not for you')
  writeFileSync(join(lib, 'docs', 'readme.txt'), 'hello library\n')
  writeFileSync(join(lib, 'docs', 'sub', 'data.bin'), randomBytes(100_000))
  writeFileSync(join(lib, 'docs', 'sub', 'deeper', 'notes é.md'), '# notes\n')
  writeFileSync(join(lib, 'docs', '.env'), 'SECRET=1')
  writeFileSync(join(lib, '.secret'), 'hidden')
  mkdirSync(join(lib, '.git'))
  writeFileSync(join(lib, '.git', 'config'), 'x')
  symlinkSync(outside, join(lib, 'escape'))
  symlinkSync(join(outside, 'secret.txt'), join(lib, 'escape-file.txt'))
  symlinkSync(join(lib, 'docs', 'readme.txt'), join(lib, 'inside-link.txt'))
  symlinkSync(outside, join(lib, 'docs', 'sub', 'out'))
  execFileSync('mkfifo', [join(lib, 'pipe')])
  if (canMount) {
    // A bind mount of a folder outside (same device) and another file system, inside the library.
    mkdirSync(join(lib, 'mounted'))
    execFileSync('mount', ['--bind', outside, join(lib, 'mounted')])
    mkdirSync(join(lib, 'other-fs'))
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'none', join(lib, 'other-fs')])
    writeFileSync(join(lib, 'other-fs', 'file.txt'), 'on tmpfs')
  }
  unixSocket = createServer()
  await new Promise<void>((resolve) => unixSocket.listen(join(lib, 'sock'), resolve))
  // 1 GiB, sparse: only three 1 MiB chunks take disk space, so the test stays fast.
  const big = join(lib, 'big.bin')
  const fd = openSync(big, 'w')
  const hash = createHash('sha256')
  const chunks = [0, GiB / 2, GiB - MiB].map((offset) => ({ offset, data: randomBytes(MiB) }))
  for (const c of chunks) writeSync(fd, c.data, 0, c.data.length, c.offset)
  closeSync(fd)
  let at = 0
  const zeros = Buffer.alloc(8 * MiB)
  for (const c of chunks) {
    for (; at < c.offset; at += Math.min(zeros.length, c.offset - at)) hash.update(zeros.subarray(0, Math.min(zeros.length, c.offset - at)))
    hash.update(c.data)
    at += c.data.length
  }
  bigSha = hash.digest('hex')
  expect(statSync(big).size).toBe(GiB)

  oauth = await startOAuthServer()
  server = await startTestServer({
    ...oauth.env,
    ADMIN_EMAILS: ADMIN.email,
    LIBRARY_DIR: `NAS=${lib}`,
    UPLOAD_RATE_LIMIT: '40/1h',
    LIBRARY_MAX_FOLDER_FILES: '50',
    LIBRARY_RATE_LIMIT: '150/1m',
  })
  admin = await signIn(ADMIN)
  alice = await signIn(ALICE)
  bob = await signIn(BOB)
})

afterAll(async () => {
  await server?.close()
  await oauth?.stop()
  unixSocket?.close()
  // Unmount first: removing the tree would otherwise reach into the mounted folders.
  if (canMount) for (const m of ['mounted', 'other-fs']) execFileSync('umount', ['-l', join(lib, m)], { stdio: 'ignore' })
  rmSync(work, { recursive: true, force: true })
})

describe('library links', () => {
  it('a link to a 1 GiB file downloads byte-identical, with Range, and no copy is made (storage usage unchanged)', async () => {
    const stats = async () =>
      ((await (await browserFetch(admin, `${server.url}/api/admin/stats`)).json()) as StatsResponse).totals.storedBytes
    const [usageBefore, storedBefore] = [storeUsage(), await stats()]
    const created = await makeLink(admin, 'NAS/big.bin')
    expect(created).toMatchObject({ kind: 'file', name: 'big.bin', size: GiB, files: 1, path: 'NAS/big.bin' })
    expect([storeUsage(), await stats()]).toEqual([usageBefore, storedBefore])

    const res = await download(created.id)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-length')).toBe(String(GiB))
    expect(res.headers.get('content-disposition')).toContain('big.bin')
    expect(res.headers.get('accept-ranges')).toBe('bytes')
    expect(await sha256(res)).toEqual({ hex: bigSha, bytes: GiB })

    const part = await download(created.id, { headers: { range: `bytes=${GiB / 2}-${GiB / 2 + 9}` } })
    expect(part.status).toBe(206)
    expect(part.headers.get('content-range')).toBe(`bytes ${GiB / 2}-${GiB / 2 + 9}/${GiB}`)
    const expected = Buffer.alloc(10)
    const fd = openSync(join(lib, 'big.bin'), 'r')
    readSync(fd, expected, 0, 10, GiB / 2)
    closeSync(fd)
    expect(Buffer.from(await part.arrayBuffer())).toEqual(expected)
    expect(storeUsage()).toBe(usageBefore)
    // 1 GiB through loopback and two SHA-256s: a budget for a loaded machine, not a timing assertion.
  }, 240_000)

  it('a one-time library link downloads exactly once; a download cut at 50 % resumes with Range in its lease and counts once', async () => {
    const created = await makeLink(admin, 'NAS/docs/sub/data.bin', { maxDownloads: 1 })
    const claim = await fetch(`${server.url}/api/shares/${created.id}/download`, { redirect: 'manual' })
    expect(claim.status).toBe(302)
    const url = new URL(claim.headers.get('location')!, server.url)
    // Link checkers and previews never count.
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(200)
    const half = await fetch(url, { headers: { range: 'bytes=0-49999' } })
    expect(half.status).toBe(206)
    const first = Buffer.from(await half.arrayBuffer())
    // While the lease lives, nobody else gets this one download.
    expect((await fetch(`${server.url}/api/shares/${created.id}/download`, { redirect: 'manual' })).status).toBe(409)
    const rest = await fetch(url, { headers: { range: 'bytes=50000-' } })
    expect(rest.status).toBe(206)
    const whole = Buffer.concat([first, Buffer.from(await rest.arrayBuffer())])
    expect(whole.equals(readFileSync(join(lib, 'docs', 'sub', 'data.bin')))).toBe(true)
    // Used up: the link is gone for everyone, and its file URL cannot be replayed.
    expect((await fetch(`${server.url}/api/shares/${created.id}/download`, { redirect: 'manual' })).status).toBe(404)
    expect((await fetch(url)).status).toBe(410)
    const mine = (await myShares(admin)).find((s) => s.id === created.id)
    expect(mine).toMatchObject({ downloads: 1, maxDownloads: 1 })
  })

  it('a folder link downloads a zip whose entries match the folder (checked with unzip), hidden files and links out left out', async () => {
    const created = await makeLink(admin, 'NAS/docs')
    expect(created).toMatchObject({ kind: 'folder', name: 'docs.zip', files: 3 })
    const res = await download(created.id)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/zip')
    const body = Buffer.from(await res.arrayBuffer())
    expect(body.length).toBe(created.size)
    const zipFile = join(work, 'docs.zip')
    writeFileSync(zipFile, body)
    expect(execFileSync('unzip', ['-tq', zipFile]).toString()).toContain('No errors detected')
    const names = execFileSync('unzip', ['-Z1', zipFile]).toString().trim().split('\n').sort()
    expect(names).toEqual(
      [
        'docs/',
        'docs/empty/',
        'docs/readme.txt',
        'docs/sub/',
        'docs/sub/data.bin',
        'docs/sub/deeper/',
        'docs/sub/deeper/notes é.md',
      ].sort(),
    )
    const out = join(work, 'unzipped')
    execFileSync('unzip', ['-q', zipFile, '-d', out])
    for (const f of ['readme.txt', 'sub/data.bin', 'sub/deeper/notes é.md']) {
      expect(readFileSync(join(out, 'docs', f)).equals(readFileSync(join(lib, 'docs', f))), f).toBe(true)
    }
    // A resumed zip download (Range) continues the same bytes.
    const tail = await download(created.id, { headers: { range: `bytes=100-` } })
    expect(tail.status).toBe(206)
    expect(Buffer.from(await tail.arrayBuffer()).equals(body.subarray(100))).toBe(true)
  })

  it('a file changed, replaced or removed after the link was made answers 410 library_file_changed', async () => {
    const file = join(lib, 'docs', 'changing.txt')
    writeFileSync(file, 'version 1')
    const appended = await makeLink(admin, 'NAS/docs/changing.txt')
    expect((await download(appended.id)).status).toBe(200)
    appendFileSync(file, ' and more')
    const res = await download(appended.id)
    expect([res.status, await errorCode(res)]).toEqual([410, 'library_file_changed'])

    // Same size and same mtime, another file (inode): still "changed".
    writeFileSync(file, 'AAAA')
    const replaced = await makeLink(admin, 'NAS/docs/changing.txt')
    const { mtime } = statSync(file)
    rmSync(file)
    writeFileSync(file, 'BBBB')
    utimesSync(file, mtime, mtime)
    expect((await download(replaced.id)).status).toBe(410)

    rmSync(file)
    expect((await download(replaced.id)).status).toBe(410)

    // A folder link whose file changed inside.
    mkdirSync(join(lib, 'album'))
    writeFileSync(join(lib, 'album', 'a.jpg'), 'jpeg')
    const folder = await makeLink(admin, 'NAS/album')
    writeFileSync(join(lib, 'album', 'a.jpg'), 'jpeg, edited')
    const zip = await download(folder.id)
    expect([zip.status, await errorCode(zip)]).toEqual([410, 'library_file_changed'])
  })

  it('a symlink inside the library that stays inside works; one leading outside is refused', async () => {
    const inside = await makeLink(admin, 'NAS/inside-link.txt')
    expect(await (await download(inside.id)).text()).toBe('hello library\n')
    for (const path of ['NAS/escape', 'NAS/escape/secret.txt', 'NAS/escape-file.txt', 'NAS/docs/sub/out/secret.txt']) {
      const res = await link(admin, { path })
      expect([path, res.status, await errorCode(res)]).toEqual([path, 403, 'library_forbidden'])
    }
  })
})

describe('mounts inside the library', () => {
  it.skipIf(!canMount)('a bind mount or another file system mounted inside the library is neither listed nor linked', async () => {
    for (const path of ['NAS/mounted', 'NAS/mounted/secret.txt', 'NAS/other-fs', 'NAS/other-fs/file.txt']) {
      const res = await link(admin, { path })
      expect([path, res.status, await errorCode(res)]).toEqual([path, 403, 'library_forbidden'])
    }
    const root = (await (await list(admin, 'NAS')).json()) as LibraryListing
    expect(root.entries.map((e) => e.name)).not.toContain('mounted')
    expect(root.entries.map((e) => e.name)).not.toContain('other-fs')
    const found = (await (await browserFetch(admin, `${server.url}/api/library/search?path=NAS&q=secret`)).json()) as LibrarySearchResponse
    expect(found.results).toEqual([])
  })
})

describe('hostile library paths', () => {
  const cases: [string, number, string][] = [
    ['../outside/secret.txt', 400, 'library_path_invalid'],
    ['NAS/../outside/secret.txt', 400, 'library_path_invalid'],
    ['NAS/docs/../../outside', 400, 'library_path_invalid'],
    ['NAS/./docs', 400, 'library_path_invalid'],
    ['/etc/passwd', 400, 'library_path_invalid'],
    ['//etc/passwd', 400, 'library_path_invalid'],
    ['NAS//docs', 400, 'library_path_invalid'],
    ['NAS\\..\\outside', 400, 'library_path_invalid'],
    ['NAS/docs/readme.txt\u0000.jpg', 400, 'library_path_invalid'],
    ['NAS/docs/\ud800', 400, 'library_path_invalid'],
    [`NAS/${'a'.repeat(5000)}`, 400, 'invalid_input'],
    ['NAS/.secret', 403, 'library_forbidden'],
    ['NAS/.git/config', 403, 'library_forbidden'],
    ['NAS/docs/.env', 403, 'library_forbidden'],
    ['NAS/pipe', 403, 'library_forbidden'],
    ['NAS/sock', 403, 'library_forbidden'],
    ['NAS/nothing-here.txt', 404, 'library_not_found'],
    ['OTHER/docs', 404, 'library_not_found'],
    ['NAS/docs/readme.txt/x', 404, 'library_not_found'],
  ]
  it.each(cases)('POST /api/library/links { path: %j } -> %i %s, nothing created', async (path, status, code) => {
    const before = await myShares(admin)
    const res = await link(admin, { path })
    expect([res.status, await errorCode(res)]).toEqual([status, code])
    expect((await myShares(admin)).length).toBe(before.length)
  })

  it('encoded traversal in the listing query (%2e%2e, %2f, %00, repeated parameters) is refused the same way', async () => {
    const raw = (query: string) => browserFetch(admin, `${server.url}/api/library?${query}`)
    for (const [query, status] of [
      ['path=NAS%2F%2e%2e%2Foutside', 400],
      ['path=%2Fetc', 400],
      ['path=NAS%2Fdocs%00', 400],
      ['path=NAS%2F%252e%252e', 404],
      ['path=NAS&path=NAS%2Fdocs', 400],
    ] as const) {
      const res = await raw(query)
      expect([query, res.status]).toEqual([query, status])
      expect(await res.json()).toHaveProperty('error.code')
    }
  })

  it('search and info refuse hostile paths and queries the same way (400/403/404, never 500)', async () => {
    const get = (route: string, query: string) => browserFetch(admin, `${server.url}/api/library/${route}?${query}`)
    for (const [route, query, status] of [
      ['search', 'path=NAS%2F..%2F..&q=passwd', 400],
      ['search', 'path=%2Fetc&q=passwd', 400],
      ['search', 'path=NAS%2F.git&q=config', 403],
      ['search', 'path=NAS%2Fescape&q=secret', 403],
      ['search', `path=NAS&q=${'x'.repeat(201)}`, 400],
      ['search', 'path=NAS&q=', 400],
      ['search', 'path=NAS%2Fdocs%2Freadme.txt&q=a', 403],
      ['info', 'path=NAS%2F..%2Foutside', 400],
      ['info', 'path=NAS%2Fpipe', 403],
      ['info', 'path=NAS%2Fescape-file.txt', 403],
      ['info', 'path=', 400],
      ['info', 'path=NOPE', 404],
    ] as const) {
      const res = await get(route, query)
      expect([route, query.slice(0, 40), res.status]).toEqual([route, query.slice(0, 40), status])
      expect(await res.json()).toHaveProperty('error.code')
    }
  })

  it('listing and search show files, folders and inside links; never hidden files, FIFOs, sockets or links out', async () => {
    const top = (await (await list(admin, '')).json()) as LibraryListing
    expect(top.entries.map((e) => e.name)).toEqual(['NAS'])
    const root = (await (await list(admin, 'NAS')).json()) as LibraryListing
    expect(root.entries.map((e) => `${e.kind}:${e.name}`).sort()).toEqual(
      ['folder:album', 'folder:docs', 'file:big.bin', 'file:inside-link.txt'].sort(),
    )
    expect(root.entries.find((e) => e.name === 'big.bin')).toMatchObject({ size: GiB, path: 'NAS/big.bin' })
    const docs = (await (await list(admin, 'NAS/docs')).json()) as LibraryListing
    expect(docs.parent).toBe('NAS')
    expect(docs.entries.map((e) => e.name)).toEqual(['empty', 'sub', 'readme.txt'])
    const found = (await (await browserFetch(admin, `${server.url}/api/library/search?path=NAS&q=NOTES`)).json()) as LibrarySearchResponse
    expect(found.results.map((r) => r.path)).toEqual(['NAS/docs/sub/deeper/notes é.md'])
    const none = (await (await browserFetch(admin, `${server.url}/api/library/search?path=NAS&q=secret`)).json()) as LibrarySearchResponse
    expect(none.results).toEqual([])
    const info = await (await browserFetch(admin, `${server.url}/api/library/info?path=NAS%2Fdocs%2Fsub`)).json()
    expect(info).toMatchObject({ kind: 'folder', files: 2, size: 100_000 + 8 })
  })
})

async function myShares(jar: CookieJar): Promise<MyShare[]> {
  return ((await (await browserFetch(jar, `${server.url}/api/me/shares`)).json()) as MySharesResponse).shares
}

describe('who may use the library', () => {
  it('anonymous visitors get 401, users without access 403, until an admin allows them (audited)', async () => {
    const anon = await fetch(`${server.url}/api/library?path=NAS`)
    expect([anon.status, await errorCode(anon)]).toEqual([401, 'unauthorized'])
    const curl = await fetch(`${server.url}/api/library/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: 'NAS/docs' }),
    })
    expect(curl.status).toBe(401)
    expect((await list(alice, 'NAS')).status).toBe(403)
    expect((await link(alice, { path: 'NAS/docs/readme.txt' })).status).toBe(403)
    expect(await (await browserFetch(alice, `${server.url}/api/library/access`)).json()).toEqual({ enabled: true, allowed: false })

    const me = (await (await browserFetch(bob, `${server.url}/api/me`)).json()) as { id: string }
    // Alice cannot grant access, to herself or anyone.
    expect((await send(alice, 'PATCH', `/api/admin/users/${me.id}/library`, { allowed: true })).status).toBe(403)
    expect((await send(admin, 'PATCH', `/api/admin/users/${me.id}/library`, { allowed: 'yes' })).status).toBe(400)
    expect((await send(admin, 'PATCH', `/api/admin/users/nobody-with-this-id-000/library`, { allowed: true })).status).toBe(404)
    expect((await send(admin, 'PATCH', `/api/admin/users/${me.id}/library`, { allowed: true })).status).toBe(200)
    expect(await (await browserFetch(bob, `${server.url}/api/library/access`)).json()).toEqual({ enabled: true, allowed: true })
    const created = await makeLink(bob, 'NAS/docs/readme.txt', { maxDownloads: 2, password: 'open sesame', expiresIn: 3600 })
    expect(created.maxDownloads).toBe(2)
    const audit = (await (await browserFetch(admin, `${server.url}/api/admin/audit`)).json()) as Page<{ action: string; targetId: string }>
    expect(audit.items[0]).toMatchObject({ action: 'user.library', targetId: me.id })

    // The link is Bob's, listed as a library share; Alice cannot delete it; the password holds.
    const mine = (await myShares(bob)).find((s) => s.id === created.id)
    expect(mine).toMatchObject({ source: 'library', names: ['readme.txt'], maxDownloads: 2, passwordProtected: true })
    expect((await send(alice, 'DELETE', `/api/me/shares/${created.id}`)).status).toBe(404)
    expect((await send(alice, 'DELETE', `/api/shares/${created.id}`)).status).toBe(403)
    expect((await fetch(`${server.url}/api/shares/${created.id}/download`, { redirect: 'manual' })).status).toBe(401)
    const unlocked = await fetch(`${server.url}/api/shares/${created.id}/download`, {
      redirect: 'manual',
      headers: { 'x-share-password': 'open sesame' },
    })
    expect(unlocked.status).toBe(302)
    const admins = (await (await browserFetch(admin, `${server.url}/api/admin/shares?q=${created.id}`)).json()) as Page<AdminShare>
    expect(admins.items[0]).toMatchObject({ id: created.id, source: 'library' })

    await send(admin, 'PATCH', `/api/admin/users/${me.id}/library`, { allowed: false })
    expect((await list(bob, 'NAS')).status).toBe(403)
  })

  it('signed library URLs cannot be forged, reused for another file, or used after the link is deleted', async () => {
    const a = await makeLink(admin, 'NAS/docs/readme.txt')
    const b = await makeLink(admin, 'NAS/inside-link.txt')
    const url = new URL(
      (await fetch(`${server.url}/api/shares/${a.id}/download`, { redirect: 'manual' })).headers.get('location')!,
      server.url,
    )
    const forged = new URL(url)
    forged.searchParams.set('sig', 'A'.repeat(43))
    expect((await fetch(forged)).status).toBe(403)
    const later = new URL(url)
    later.searchParams.set('exp', String(Number(url.searchParams.get('exp')) + 3600))
    expect((await fetch(later)).status).toBe(403)
    const other = new URL(url.toString().replace(a.id, b.id))
    expect([403, 404]).toContain((await fetch(other)).status)
    expect((await fetch(url)).status).toBe(200)
    expect((await send(admin, 'DELETE', `/api/me/shares/${a.id}`)).status).toBe(204)
    expect((await fetch(url)).status).toBe(404)
    // The library file itself is untouched by deleting the link.
    expect(readFileSync(join(lib, 'docs', 'readme.txt'), 'utf8')).toBe('hello library\n')
  })

  it('bad bodies: unknown fields, wrong types, a huge body and a folder over the file limit are refused', async () => {
    expect((await link(admin, { path: 'NAS/docs', extra: 1 })).status).toBe(400)
    expect((await link(admin, { path: 123 })).status).toBe(400)
    expect((await link(admin, { path: 'NAS/docs', maxDownloads: 0 })).status).toBe(400)
    expect((await link(admin, { path: 'NAS/docs', expiresIn: 10 ** 12 })).status).toBe(400)
    expect((await link(admin, { path: 'NAS/docs', notify: { downloads: 'last' } })).status).toBe(400)
    expect((await send(admin, 'POST', '/api/library/links', '{"path":')).status).toBe(400)
    expect((await send(admin, 'POST', '/api/library/links', JSON.stringify({ path: 'x'.repeat(300_000) }))).status).toBe(413)
    mkdirSync(join(lib, 'many'))
    for (let i = 0; i < 51; i++) writeFileSync(join(lib, 'many', `f${i}`), '')
    const res = await link(admin, { path: 'NAS/many' })
    expect([res.status, await errorCode(res)]).toEqual([413, 'too_large'])
  })

  it('a flood of browse requests is rate-limited per user (429 with Retry-After)', async () => {
    let refused: Response | null = null
    for (let i = 0; i < 200 && !refused; i++) {
      const res = await list(admin, 'NAS/docs')
      if (res.status !== 200) refused = res
    }
    expect(refused?.status).toBe(429)
    expect(refused?.headers.get('retry-after')).toBeTruthy()
  })

  it('a flood of link creation is rate-limited (429 with Retry-After) and stores nothing past the limit', async () => {
    const before = (await myShares(admin)).length
    let created = 0
    let refused: Response | null = null
    for (let i = 0; i < 60 && !refused; i++) {
      const res = await link(admin, { path: 'NAS/docs/readme.txt' })
      if (res.status === 201) created++
      else refused = res
    }
    expect(refused?.status).toBe(429)
    expect(refused?.headers.get('retry-after')).toBeTruthy()
    expect((await myShares(admin)).length).toBe(before + created)
  })
})
