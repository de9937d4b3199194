/**
 * What recipients get beyond single files — the whole share as one zip with its folders, previews
 * that never count, notes, text-only shares — on a database and a blob store given by the caller,
 * through the real server over HTTP, zips checked with the real `unzip`.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ShareKey, newSecret, openMetadata, sealMetadata } from '@sharesync/crypto'
import { PREVIEW_LIMITED_BYTES, PREVIEW_LIMITED_MIN_SIZE } from '@sharesync/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DiskStore } from '../src/storage/disk-store'
import { openUnder } from './support/descriptors'
import { apiOf, uploadShare, type Api, type ApiBody } from './support/browser-upload'
import { sha256 } from './support/files'
import { startTestServer, type TestServer } from './support/harness'

const run = promisify(execFile)
const MiB = 2 ** 20
const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) % 251)

/** Unzips with the real `unzip` into a fresh folder; returns every file's path and SHA-256. */
async function unzipped(zip: Buffer): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), 'sharesync-unzip-'))
  writeFileSync(join(dir, 'a.zip'), zip)
  await run('unzip', ['-q', 'a.zip', '-d', 'out'], { cwd: dir })
  const { stdout } = await run('find', ['out', '-type', 'f'], { cwd: dir })
  const out: Record<string, string> = {}
  for (const path of stdout.trim().split('\n').filter(Boolean).sort()) out[path.slice(4)] = sha256(readFileSync(join(dir, path)))
  return out
}

export function sharingSuite(name: string, env: () => Promise<Record<string, string>>) {
  describe(`download all, previews, notes and texts on ${name}`, () => {
    let server: TestServer
    let api: Api
    beforeAll(async () => {
      server = await startTestServer({ PART_SIZE: '5MiB', UPLOAD_RATE_LIMIT: '1000/1h', DOWNLOAD_RATE_LIMIT: '10000/1m', DOWNLOAD_LEASE_TTL: '30', ...(await env()) })
      api = apiOf(server.url)
    })
    afterAll(() => server?.close())

    const events = async (shareId: string) => {
      await server.deps.downloadEvents.flush()
      return (await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM download_events WHERE share_id = $1`, [shareId]))[0]!.n
    }
    const zipOf = async (shareId: string, body: Record<string, unknown> = {}) => {
      const issued = await api<ApiBody & { url: string; lease?: { token: string } }>(`/api/shares/${shareId}/zip`, { body })
      return issued
    }

    it('"Download all" of a share with folders opens with the real unzip: the same tree and bytes', async () => {
      const files = [
        { name: 'big.bin', bytes: bytes(11 * MiB + 3, 1), path: 'holiday' },
        { name: 'beach.jpg', bytes: bytes(2000, 2), path: 'holiday/day 1', type: 'image/jpeg' },
        { name: 'notes.txt', bytes: bytes(0, 3), path: 'holiday/day 2/evening' },
      ]
      const share = await uploadShare(api, files)
      const meta = await api<{ files: { name: string; path?: string }[] }>(`/api/shares/${share.id}`)
      expect(meta.body.files.map((f) => `${f.path}/${f.name}`)).toEqual(['holiday/big.bin', 'holiday/day 1/beach.jpg', 'holiday/day 2/evening/notes.txt'])
      const head = await server.fetch(`/api/shares/${share.id}/zip`, { method: 'HEAD' })
      expect(head.status).toBe(200)
      expect(head.headers.get('content-disposition')).toContain('filename="holiday.zip"')
      const before = await events(share.id)
      const issued = await zipOf(share.id)
      expect(issued.status).toBe(200)
      const res = await fetch(issued.body.url)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/zip')
      const zip = Buffer.from(await res.arrayBuffer())
      expect(zip.length).toBe(Number(head.headers.get('content-length')))
      expect(await unzipped(zip)).toEqual(Object.fromEntries(files.map((f) => [`${f.path}/${f.name}`, sha256(f.bytes)])))
      // one zip is one download of every file in it; HEAD counted nothing
      expect((await events(share.id)) - before).toBe(3)
    })

    it('a one-time share zips once: the zip counts its one download and then the share is gone', async () => {
      const files = [
        { name: 'a.txt', bytes: bytes(5000, 4) },
        { name: 'a.txt', bytes: bytes(6000, 5) },
        { name: 'b.bin', bytes: bytes(7 * MiB, 6) },
      ]
      const share = await uploadShare(api, files, { maxDownloads: 1 })
      const issued = await zipOf(share.id)
      expect(issued.body.lease).toBeDefined()
      // While it is leased, a second visitor waits.
      expect((await zipOf(share.id)).body.error?.code).toBe('download_in_progress')
      const zip = Buffer.from(await (await fetch(issued.body.url)).arrayBuffer())
      // Two files of one name: the second is renamed in the zip, nothing is lost.
      expect(Object.keys(await unzipped(zip))).toEqual(['a (2).txt', 'a.txt', 'b.bin'])
      const [row] = await server.deps.db.query<{ downloads: number }>(`SELECT downloads FROM shares WHERE id = $1`, [share.id])
      expect(row!.downloads).toBe(1)
      expect((await api(`/api/shares/${share.id}`)).status).toBe(404)
      expect((await zipOf(share.id)).status).toBe(404)
      // The same lease cannot fetch the zip again, nor its files one by one.
      expect((await fetch(issued.body.url)).status).toBe(410)
      const one = await api(`/api/shares/${share.id}/files/${share.files[0]!.id}/download`, { body: { lease: issued.body.lease!.token } })
      expect(one.body.error?.code).toBe('download_link_used')
    })

    it('a zip cut half-way resumes with Range under its lease, byte-identical, and counts once', async () => {
      const files = [
        { name: 'one.bin', bytes: bytes(6 * MiB, 7) },
        { name: 'two.bin', bytes: bytes(3 * MiB, 8) },
      ]
      const share = await uploadShare(api, files, { maxDownloads: 2 })
      const issued = await zipOf(share.id)
      const size = Number((await fetch(issued.body.url, { method: 'HEAD' })).headers.get('content-length'))
      const cut = 4 * MiB
      const first = await fetch(issued.body.url, { headers: { range: `bytes=0-${cut - 1}` } })
      expect(first.status).toBe(206)
      const a = Buffer.from(await first.arrayBuffer())
      // The range ended inside one.bin: the archive stopped reading it, and closes it (it is not left
      // open until the garbage collector finds it).
      const store = server.deps.store
      if (store instanceof DiskStore) {
        await expect.poll(() => openUnder(store.dir), { timeout: 10_000 }).toBe(0)
      }
      // Nothing whole was sent yet: not counted.
      expect((await server.deps.db.query<{ downloads: number }>(`SELECT downloads FROM shares WHERE id = $1`, [share.id]))[0]!.downloads).toBe(0)
      const rest = await fetch(issued.body.url, { headers: { range: `bytes=${cut}-` } })
      expect(rest.status).toBe(206)
      expect(rest.headers.get('content-range')).toBe(`bytes ${cut}-${size - 1}/${size}`)
      const zip = Buffer.concat([a, Buffer.from(await rest.arrayBuffer())])
      expect(await unzipped(zip)).toEqual({ 'one.bin': sha256(files[0]!.bytes), 'two.bin': sha256(files[1]!.bytes) })
      const [row] = await server.deps.db.query<{ downloads: number }>(`SELECT downloads FROM shares WHERE id = $1`, [share.id])
      expect(row!.downloads).toBe(1)
      expect((await api<{ downloadsLeft: number }>(`/api/shares/${share.id}`)).body.downloadsLeft).toBe(1)
    })

    it('a lease that lapses before any file was whole frees the download again', async () => {
      const share = await uploadShare(api, [{ name: 'x.bin', bytes: bytes(1000, 9) }], { maxDownloads: 1 })
      const first = await zipOf(share.id)
      expect(first.status).toBe(200)
      // The lease lapses (moved back, as DOWNLOAD_LEASE_TTL without bytes flowing would: no sleep, no race on a busy machine).
      await server.deps.db.query(`UPDATE download_leases SET expires_at = now() - interval '1 second' WHERE share_id = $1 AND expires_at > now()`, [share.id])
      const second = await zipOf(share.id)
      expect(second.status).toBe(200)
      expect((await fetch(first.body.url)).status).toBe(410)
    })

    it('zip links refuse forged, other shares\' and expired signatures and leases; encrypted and text shares have no server zip', async () => {
      const a = await uploadShare(api, [{ name: 'a', bytes: bytes(10) }])
      const b = await uploadShare(api, [{ name: 'b', bytes: bytes(10) }], { maxDownloads: 3 })
      const issued = await zipOf(a.id)
      const url = new URL(issued.body.url)
      const forged = new URL(url)
      forged.searchParams.set('sig', 'A'.repeat(43))
      expect((await fetch(forged)).status).toBe(403)
      const moved = new URL(url.href.replace(a.id, b.id))
      expect((await fetch(moved)).status).toBe(403)
      const later = new URL(url)
      later.searchParams.set('exp', String(Number(url.searchParams.get('exp')) + 3600))
      expect((await fetch(later)).status).toBe(403)
      const lease = (await zipOf(b.id)).body.lease!.token
      expect((await fetch(`${server.url}/api/shares/${a.id}/zip/content?lease=${lease}`)).status).toBe(403)
      expect((await fetch(`${server.url}/api/shares/${b.id}/zip/content?lease=${lease.slice(0, -2)}xx`)).status).toBe(403)
      expect((await fetch(`${server.url}/api/shares/${b.id}/zip/content`)).status).toBe(400)
      const text = await api<{ id: string }>('/api/texts', { body: { text: 'hello' } })
      expect((await zipOf(text.body.id)).body.error?.code).toBe('zip_not_available')
    })

    it('folder paths that could escape the folder are refused with 400, and nothing is stored', async () => {
      const count = async () => (await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM shares`))[0]!.n
      const before = await count()
      const hostile = ['../etc', 'a/../../b', '..', '.', '/etc', '/', 'C:/Windows', 'c:', 'a//b', 'a/', '\\\\server\\share', 'a\\b', 'a/\u0000b', 'a/\u202eb', 'x/'.repeat(40) + 'x', 'a'.repeat(256), 'a/'.repeat(600)]
      for (const path of hostile) {
        const res = await api('/api/shares', { body: { files: [{ name: 'f.txt', size: 1, path }] } })
        expect(res.status, JSON.stringify(path)).toBe(400)
        expect(res.body.error?.code).toBe('invalid_input')
      }
      for (const files of [
        [{ name: 'f', size: 1, path: 'a' }, { name: 'f', size: 1, path: 'a' }],
        [{ name: 'b', size: 1, path: 'a' }, { name: 'c', size: 1, path: 'a/b' }],
        [{ name: '../x', size: 1, path: 'a' }],
      ]) {
        expect((await api('/api/shares', { body: { files } })).status, JSON.stringify(files)).toBe(400)
      }
      expect(await count()).toBe(before)
    })

    it('folder names are stored in Unicode NFC, so the same name typed two ways is one folder', async () => {
      const share = await uploadShare(api, [
        { name: 'a.txt', bytes: bytes(3), path: 'Cafe\u0301' },
        { name: 'b.txt', bytes: bytes(4), path: 'Caf\u00e9' },
      ])
      const meta = await api<{ files: { path: string }[] }>(`/api/shares/${share.id}`)
      expect(meta.body.files.map((f) => f.path)).toEqual(['Caf\u00e9', 'Caf\u00e9'])
    })

    it('a note is kept as written and shown only after the password; too long a note is refused', async () => {
      const note = 'Hi! <script>alert(1)</script> see [the docs](https://example.com) and [this](javascript:alert(1))'
      const share = await uploadShare(api, [{ name: 'n.txt', bytes: bytes(10) }], { note, password: 'pw-1234' })
      expect((await api(`/api/shares/${share.id}`)).body.note).toBeUndefined()
      expect((await api(`/api/shares/${share.id}`, { headers: { 'x-share-password': 'pw-1234' } })).body.note).toBe(note)
      expect((await api('/api/shares', { body: { files: [{ name: 'f', size: 1 }], note: 'x'.repeat(5001) } })).status).toBe(400)
      expect((await api('/api/shares', { body: { files: [{ name: 'f', size: 1 }], note: 42 } })).status).toBe(400)
    })

    it('a one-time text shows once, then answers 404 and is wiped from the database; HEAD and the page count nothing', async () => {
      const created = await api<{ id: string; url: string; downloadUrl: string }>('/api/texts', { body: { text: 'licence: ABCD-1234', maxDownloads: 1, note: 'your key' } })
      expect(created.status).toBe(201)
      const { id } = created.body
      const meta = await api<Record<string, unknown>>(`/api/shares/${id}`)
      expect(meta.body).toMatchObject({ kind: 'text', downloadsLeft: 1, files: [] })
      expect(JSON.stringify(meta.body)).not.toContain('ABCD')
      expect((await server.fetch(`/api/shares/${id}/text`, { method: 'HEAD' })).status).toBe(200)
      // Two readers at once: exactly one sees it.
      const [x, y] = await Promise.all([api(`/api/shares/${id}/text`, { body: {} }), api(`/api/shares/${id}/text`, { body: {} })])
      const seen = [x, y].filter((r) => r.status === 200)
      expect(seen).toHaveLength(1)
      expect(seen[0]!.body).toEqual({ text: 'licence: ABCD-1234', note: 'your key', downloadsLeft: 0 })
      expect([x, y].map((r) => r.status).sort()).toEqual([200, 404])
      expect((await api(`/api/shares/${id}`)).status).toBe(404)
      const [row] = await server.deps.db.query<{ text: string | null; note: string | null }>(`SELECT text, note FROM shares WHERE id = $1`, [id])
      expect(row).toEqual({ text: null, note: null })
    })

    it('an encrypted one-time text: the page opens its note envelope without a view, the text envelope shows once, then 404', async () => {
      const key = await ShareKey.derive(newSecret(), null)
      const metadata = await sealMetadata(key, { files: [], note: 'from Ana' })
      const sealed = await sealMetadata(key, { files: [], text: 'wifi: correct horse' })
      const created = await api<{ id: string }>('/api/texts', { body: { encrypted: true, metadata, text: sealed, maxDownloads: 1 } })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      const { id } = created.body
      // The metadata answer carries the note's envelope (the page checks its key with it) but never the text's.
      const meta = await api<{ metadata?: string; downloadsLeft: number }>(`/api/shares/${id}`)
      expect(meta.body).toMatchObject({ kind: 'text', encrypted: true, downloadsLeft: 1 })
      expect(await openMetadata(key, meta.body.metadata!)).toEqual({ files: [], note: 'from Ana' })
      expect(JSON.stringify(meta.body)).not.toContain(sealed)
      const shown = await api<{ sealedText: string; downloadsLeft: number }>(`/api/shares/${id}/text`, { body: {} })
      expect(shown.status).toBe(200)
      expect(shown.body.downloadsLeft).toBe(0)
      expect((await openMetadata(key, shown.body.sealedText)).text).toBe('wifi: correct horse')
      expect((await api(`/api/shares/${id}/text`, { body: {} })).status).toBe(404)
      expect((await api(`/api/shares/${id}`)).status).toBe(404)
      // An encrypted text without its sealed text, or with a plain one, is refused.
      for (const body of [{ encrypted: true, metadata }, { encrypted: true, metadata, text: 'plain text' }, { encrypted: true, metadata, text: sealed, note: 'x' }]) {
        expect((await api('/api/texts', { body })).status, JSON.stringify(body).slice(0, 60)).toBe(400)
      }
    })

    it('a text share with a password: curl gets text/plain with it, 401 without or with a wrong one', async () => {
      const created = await api<{ id: string; downloadUrl: string }>('/api/texts', { body: { text: 'https://example.com/secret', password: 'open sesame' } })
      const url = created.body.downloadUrl
      expect((await fetch(url)).status).toBe(401)
      expect((await fetch(url, { headers: { 'x-share-password': 'wrong' } })).status).toBe(401)
      const ok = await fetch(url, { headers: { 'x-share-password': 'open sesame' } })
      expect(ok.status).toBe(200)
      expect(ok.headers.get('content-type')).toBe('text/plain; charset=utf-8')
      expect(ok.headers.get('x-content-type-options')).toBe('nosniff')
      expect(await ok.text()).toBe('https://example.com/secret')
    })

    it('hostile text shares are refused with 400 and store nothing', async () => {
      const count = async () => (await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM shares WHERE kind = 'text'`))[0]!.n
      const before = await count()
      for (const body of [{}, { text: '' }, { text: 'x'.repeat(65_537) }, { text: 1 }, { text: 'a', note: 'n'.repeat(5001) }, { text: 'a', encrypted: true }, { encrypted: true, metadata: 'AAAA' }, { text: 'a', maxDownloads: 0 }, { text: ['a'] }]) {
        expect((await api('/api/texts', { body })).status, JSON.stringify(body).slice(0, 80)).toBe(400)
      }
      expect(await count()).toBe(before)
      // A files share has no text to reveal.
      const files = await uploadShare(api, [{ name: 'f', bytes: bytes(3) }])
      expect((await api(`/api/shares/${files.id}/text`, { body: {} })).status).toBe(404)
    })

    it('previews stream images and text without counting a download; HTML and SVG are never previewed', async () => {
      const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex')
      const share = await uploadShare(api, [
        { name: 'pic.png', bytes: png, type: 'image/png' },
        { name: 'code.ts', bytes: new TextEncoder().encode('const x: number = 1\n') },
        { name: 'page.html', bytes: new TextEncoder().encode('<script>alert(1)</script>'), type: 'text/html' },
        { name: 'art.svg', bytes: new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), type: 'image/svg+xml' },
        { name: 'sneaky.svg', bytes: new TextEncoder().encode('<svg/>'), type: 'image/png' },
        { name: 'sneaky.png', bytes: new TextEncoder().encode('<html><script>alert(1)</script>'), type: 'text/html' },
      ])
      const before = await events(share.id)
      const grant = await api<{ kind: string; url: string; bytes: number; partial: boolean }>(`/api/shares/${share.id}/files/${share.files[0]!.id}/preview`, { body: {} })
      expect(grant.body).toMatchObject({ kind: 'image', bytes: png.length, partial: false })
      const img = await fetch(grant.body.url)
      expect(img.headers.get('content-type')).toBe('image/png')
      expect(img.headers.get('x-content-type-options')).toBe('nosniff')
      expect(img.headers.get('content-security-policy')).toBe('sandbox')
      expect(Buffer.from(await img.arrayBuffer()).equals(png)).toBe(true)
      const text = await api<{ kind: string; url: string }>(`/api/shares/${share.id}/files/${share.files[1]!.id}/preview`, { body: {} })
      expect(text.body.kind).toBe('text')
      const t = await fetch(text.body.url, { headers: { range: 'bytes=6-' } })
      expect(t.status).toBe(206)
      expect(t.headers.get('content-type')).toBe('text/plain; charset=utf-8')
      expect(await t.text()).toBe('x: number = 1\n')
      for (const f of share.files.slice(2)) {
        const refused = await api(`/api/shares/${share.id}/files/${f.id}/preview`, { body: {} })
        expect(refused.status, f.name).toBe(415)
        expect(refused.body.error?.code).toBe('preview_unsupported')
      }
      expect(await events(share.id)).toBe(before)
    })

    it('a limited share previews only the first quarter-MiB of a large text file, never a small file or an image, and its count stays', async () => {
      const big = new TextEncoder().encode('line of text\n'.repeat(Math.ceil(PREVIEW_LIMITED_MIN_SIZE / 13) + 10))
      const share = await uploadShare(api, [
        { name: 'log.txt', bytes: big, type: 'text/plain' },
        { name: 'key.txt', bytes: new TextEncoder().encode('SECRET-KEY'), type: 'text/plain' },
        { name: 'pic.png', bytes: bytes(5000), type: 'image/png' },
      ], { maxDownloads: 1 })
      const grant = await api<{ url: string; bytes: number; partial: boolean }>(`/api/shares/${share.id}/files/${share.files[0]!.id}/preview`, { body: {} })
      expect(grant.body).toMatchObject({ bytes: PREVIEW_LIMITED_BYTES, partial: true })
      const whole = await fetch(grant.body.url)
      expect((await whole.arrayBuffer()).byteLength).toBe(PREVIEW_LIMITED_BYTES)
      expect((await fetch(grant.body.url, { headers: { range: `bytes=${PREVIEW_LIMITED_BYTES}-` } })).status).toBe(416)
      // The signed cap cannot be raised.
      const raised = new URL(grant.body.url)
      raised.searchParams.set('max', String(big.length))
      expect((await fetch(raised)).status).toBe(403)
      for (const f of share.files.slice(1)) expect((await api(`/api/shares/${share.id}/files/${f.id}/preview`, { body: {} })).status, f.name).toBe(415)
      const meta = await api<{ downloadsLeft: number }>(`/api/shares/${share.id}`)
      expect(meta.body.downloadsLeft).toBe(1)
      expect(await events(share.id)).toBe(0)
    })

    it('previews turned off by the owner or by the admin are refused, also for a grant issued before', async () => {
      const off = await uploadShare(api, [{ name: 'a.txt', bytes: bytes(100), type: 'text/plain' }], { previews: false })
      expect((await api<{ previews: boolean }>(`/api/shares/${off.id}`)).body.previews).toBe(false)
      expect((await api(`/api/shares/${off.id}/files/${off.files[0]!.id}/preview`, { body: {} })).body.error?.code).toBe('previews_disabled')
      const on = await uploadShare(api, [{ name: 'b.txt', bytes: bytes(100), type: 'text/plain' }])
      const grant = await api<{ url: string }>(`/api/shares/${on.id}/files/${on.files[0]!.id}/preview`, { body: {} })
      const settings = await server.deps.settings.read()
      await server.deps.settings.save({ ...settings.settings, previews: false }, 'test')
      try {
        expect((await api<{ previews: boolean }>(`/api/shares/${on.id}`)).body.previews).toBe(false)
        expect((await fetch(grant.body.url)).status).toBe(403)
      } finally {
        await server.deps.settings.save({ ...settings.settings, previews: true }, 'test')
      }
      expect((await fetch(grant.body.url)).status).toBe(200)
    })
  })
}
