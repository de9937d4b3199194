/**
 * Files left in a P2P room ("Leave in this room"): uploaded through the share upload API, seen by
 * everyone in the room including those who join later, downloaded through short-lived signed URLs,
 * removed by the member who left them, gone from storage once they expire. The real server over
 * Socket.IO and HTTP, on PGlite + disk (rooms in memory) and PostgreSQL + S3 (s3rver) + Redis (rooms in Redis).
 */
import { randomBytes } from 'node:crypto'
import type { LeftUpload, RoomFile } from '@sharesync/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Janitor } from '../src/jobs/janitor'
import { apiOf } from './support/browser-upload'
import { startTestServer, type TestServer } from './support/harness'
import { collect, connectRooms, nextEvent, until, type RoomsClient } from './support/rooms-client'
import { createDatabase, startPostgres, startRedis, startS3, type ServiceHandle } from './support/services'

let pg: ServiceHandle
let redis: ServiceHandle
let s3: Awaited<ReturnType<typeof startS3>>
beforeAll(async () => {
  ;[pg, redis, s3] = await Promise.all([startPostgres(), startRedis(), startS3()])
})
afterAll(async () => {
  await Promise.all([pg?.stop(), redis?.stop(), s3?.stop()])
})

roomFilesSuite('PGlite + disk store (rooms in memory)', async () => ({}))
// The scaled-out setup: rooms (and the kept empty ones) live in Redis.
roomFilesSuite('PostgreSQL + S3 (s3rver) + Redis', async () => ({ DATABASE_URL: await createDatabase(pg.url, 'room_files'), REDIS_URL: redis.url, ...s3.env }))

function roomFilesSuite(name: string, env: () => Promise<Record<string, string>>) {
  describe(`files left in a room, on ${name}`, () => {
    let server: TestServer
    const open: RoomsClient[] = []
    const client = async () => {
      const s = await connectRooms(server.url)
      open.push(s)
      return s
    }

    beforeAll(async () => {
      server = await startTestServer({
        ROOM_JOIN_RATE_LIMIT: '1000/1m',
        ROOM_CREATE_RATE_LIMIT: '1000/1h',
        UPLOAD_RATE_LIMIT: '1000/1h',
        ROOM_FILES_MAX: '3',
        ANON_MAX_FILE_SIZE: '1MiB',
        ...(await env()),
      })
    })
    afterAll(async () => {
      for (const s of open) s.disconnect()
      await server?.close()
    })

    const ok = <T extends object>(res: { ok: true } & T | { ok: false; error: { code: string; message: string } }): T => {
      if (!res.ok) throw new Error(`${res.error.code}: ${res.error.message}`)
      return res
    }
    const code = (res: { ok: boolean; error?: { code: string } }) => (res.ok ? 'ok' : res.error?.code)

    async function room() {
      const a = await client()
      const created = ok(await a.emitWithAck('room:create', { name: 'Teacher' }))
      return { a, created, secret: created.room.secret, roomId: created.room.id }
    }
    async function join(secret: string, name = 'Student') {
      const s = await client()
      const joined = ok(await s.emitWithAck('room:join', { secret, name }))
      return { s, joined }
    }

    /** What the web app does: files:leave, the share upload API with the owner token, files:ready. */
    async function leave(s: RoomsClient, bytes: Uint8Array, fileName = 'notes.bin'): Promise<RoomFile> {
      const { upload } = ok(await s.emitWithAck('files:leave', { name: fileName, size: bytes.length, type: 'application/octet-stream' }))
      await uploadParts(upload, bytes)
      return ok(await s.emitWithAck('files:ready', { id: upload.id })).file
    }
    async function uploadParts(upload: LeftUpload, bytes: Uint8Array) {
      const api = apiOf(server.url)
      const owner = { 'x-owner-token': upload.ownerToken }
      const f = upload.file
      const parts: { partNumber: number; etag: string }[] = []
      if (f.partCount > 0) {
        const numbers = Array.from({ length: f.partCount }, (_, n) => n + 1)
        const signed = await api<{ parts: { partNumber: number; url: string }[] }>(`/api/shares/${upload.id}/files/${f.id}/parts`, { body: { partNumbers: numbers }, headers: owner })
        expect(signed.status).toBe(200)
        for (const p of signed.body.parts) {
          const res = await fetch(p.url, { method: 'PUT', body: Buffer.from(bytes.subarray((p.partNumber - 1) * f.partSize, p.partNumber * f.partSize)) })
          expect(res.status).toBe(200)
          parts.push({ partNumber: p.partNumber, etag: res.headers.get('etag')! })
        }
      }
      expect((await api(`/api/shares/${upload.id}/files/${f.id}/complete`, { body: { parts }, headers: owner })).status).toBe(200)
      expect((await api(`/api/shares/${upload.id}/finalize`, { body: {}, headers: owner })).status).toBe(200)
    }
    async function download(s: RoomsClient, id: string): Promise<Buffer> {
      const { url, expiresAt } = ok(await s.emitWithAck('files:url', { id }))
      expect(new Date(expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(61_000)
      const res = await fetch(url)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-disposition') ?? '').toMatch(/^attachment/)
      return Buffer.from(await res.arrayBuffer())
    }
    const storageKey = async (id: string) => (await server.deps.db.query<{ storage_key: string }>(`SELECT storage_key FROM files WHERE share_id = $1`, [id]))[0]!.storage_key

    it('a device that joins after the file was left and after its sender left sees it and downloads the same bytes', async () => {
      const { a, secret, created } = await room()
      const { s: b } = await join(secret, 'Early student')
      const bytes = randomBytes(200_000)
      const added = nextEvent(b, 'files:added')
      const file = await leave(a, bytes)
      expect(file).toMatchObject({ name: 'notes.bin', size: bytes.length, leftBy: { peerId: created.self.peerId, name: 'Teacher' } })
      // Everyone in the room hears of it.
      expect((await added).file).toEqual(file)
      a.disconnect()
      await until(async () => (await server.realtime.rooms.store.members(created.room.id)).length === 1, 'the sender to be gone')

      const { s: c } = await join(secret, 'Late student')
      const { files } = ok(await c.emitWithAck('files:list', {}))
      expect(files).toEqual([file])
      expect((await download(c, file.id)).equals(bytes)).toBe(true)
      expect((await download(b, file.id)).equals(bytes)).toBe(true)
    })

    it('a room that holds files outlives its last member: a latecomer joins by the link and downloads', async () => {
      const { a, secret, roomId } = await room()
      const bytes = randomBytes(1000)
      const file = await leave(a, bytes, 'key.txt')
      a.disconnect()
      await until(async () => (await server.realtime.rooms.store.members(roomId)).length === 0, 'the room to be empty')
      // Empty, yet still there for its files.
      const { s: c, joined } = await join(secret)
      expect(joined.room.id).toBe(roomId)
      expect(ok(await c.emitWithAck('files:list', {})).files.map((f) => f.id)).toEqual([file.id])
      expect((await download(c, file.id)).equals(bytes)).toBe(true)
    })

    it('after the files expire they are gone from storage, the members no longer get them, and the empty room ends', async () => {
      const { a, secret, roomId } = await room()
      const file = await leave(a, randomBytes(5000))
      const key = await storageKey(file.id)
      expect(await server.deps.store.head(key)).toEqual({ size: 5000 })
      a.disconnect()
      await until(async () => (await server.realtime.rooms.store.members(roomId)).length === 0, 'the room to be empty')
      expect(await server.realtime.rooms.service.endIfEmpty(roomId, 0)).toBe(false) // kept for its file

      // The file's lifetime passes (as a clock shift would), then the janitor runs.
      await server.deps.db.query(`UPDATE shares SET expires_at = now() - interval '1 second' WHERE id = $1`, [file.id])
      const run = await new Janitor(server.deps).runOnce()
      expect(run.deleted).toContain(file.id)
      expect(await server.deps.store.head(key)).toBeNull()

      expect(await server.realtime.rooms.service.endIfEmpty(roomId, 0)).toBe(true)
      const late = await client()
      expect(code(await late.emitWithAck('room:join', { secret }))).toBe('room_not_found')
    })

    it('an expired file is refused to members still in the room, even before the janitor removed it', async () => {
      const { a, secret } = await room()
      const { s: b } = await join(secret)
      const file = await leave(a, randomBytes(100))
      await server.deps.db.query(`UPDATE shares SET expires_at = now() - interval '1 second' WHERE id = $1`, [file.id])
      expect(ok(await b.emitWithAck('files:list', {})).files).toEqual([])
      expect(code(await b.emitWithAck('files:url', { id: file.id }))).toBe('room_file_not_found')
    })

    it('a stranger or a member of another room cannot list, download or remove; nor can anyone reach it as a link', async () => {
      const { a, secret } = await room()
      const { s: b } = await join(secret)
      const bytes = randomBytes(3000)
      const file = await leave(a, bytes)

      const stranger = await client()
      expect(code(await stranger.emitWithAck('files:list', {}))).toBe('forbidden')
      expect(code(await stranger.emitWithAck('files:url', { id: file.id }))).toBe('forbidden')
      expect(code(await stranger.emitWithAck('files:remove', { id: file.id }))).toBe('forbidden')

      const { a: other } = await room()
      expect(ok(await other.emitWithAck('files:list', {})).files).toEqual([])
      expect(code(await other.emitWithAck('files:url', { id: file.id }))).toBe('room_file_not_found')
      expect(code(await other.emitWithAck('files:remove', { id: file.id }))).toBe('room_file_not_found')
      expect(code(await other.emitWithAck('files:ready', { id: file.id }))).toBe('room_file_not_found')

      // A member who did not leave it cannot remove it either.
      expect(code(await b.emitWithAck('files:remove', { id: file.id }))).toBe('forbidden')

      // The file's share is no link: its id opens nothing.
      const api = apiOf(server.url)
      expect((await api(`/api/shares/${file.id}`)).status).toBe(404)
      expect((await api(`/api/shares/${file.id}/download`, { body: {} })).status).toBe(404)
      expect((await download(b, file.id)).equals(bytes)).toBe(true)
    })

    it("GET /api/rooms/files lists a room's files for whoever holds its link; a wrong link gets 404, a malformed one 400", async () => {
      const { a, secret } = await room()
      const file = await leave(a, randomBytes(100))
      const api = apiOf(server.url)
      const listed = await api<{ files: RoomFile[] }>('/api/rooms/files', { headers: { 'x-room-secret': secret } })
      expect(listed.status).toBe(200)
      expect(listed.body.files).toEqual([file])
      const wrong = await api<{ error: { code: string } }>('/api/rooms/files', { headers: { 'x-room-secret': randomBytes(18).toString('base64url') } })
      expect([wrong.status, wrong.body.error.code]).toEqual([404, 'room_not_found'])
      for (const bad of ['', 'short', 'x'.repeat(200), '../../etc/passwd-aaaaaaaaaaaaaaaaaaaa']) {
        const res = await api<{ error: { code: string } }>('/api/rooms/files', { headers: { 'x-room-secret': bad } })
        expect([res.status, res.body.error.code], bad).toEqual([400, 'invalid_input'])
      }
    })

    it('the member who left a file removes it: the room hears it, its blob is deleted, nobody gets it any more', async () => {
      const { a, secret } = await room()
      const { s: b } = await join(secret)
      const file = await leave(a, randomBytes(4000))
      const key = await storageKey(file.id)
      const removed = nextEvent(b, 'files:removed')
      expect(await a.emitWithAck('files:remove', { id: file.id })).toEqual({ ok: true })
      expect(await removed).toMatchObject({ id: file.id })
      expect(await server.deps.store.head(key)).toBeNull()
      expect(ok(await b.emitWithAck('files:list', {})).files).toEqual([])
      expect(code(await b.emitWithAck('files:url', { id: file.id }))).toBe('room_file_not_found')
      expect(code(await a.emitWithAck('files:remove', { id: file.id }))).toBe('room_file_not_found')
    })

    it('hostile sizes and names are refused with clear errors and create nothing; a room holds at most ROOM_FILES_MAX files', async () => {
      const { a, secret, roomId } = await room()
      const { s: b } = await join(secret)
      const shares = async () => Number((await server.deps.db.query<{ n: number }>(`SELECT count(*)::int4 AS n FROM shares WHERE room_id = $1`, [roomId]))[0]!.n)
      const heard = collect(b, 'files:added')
      const refused = async (payload: unknown, expected: string) => expect(code(await (a.emitWithAck as (e: string, p: unknown) => Promise<{ ok: boolean; error?: { code: string } }>)('files:leave', payload))).toBe(expected)
      await refused({ name: 'big.iso', size: 2 * 2 ** 20 }, 'too_large') // over ANON_MAX_FILE_SIZE
      await refused({ name: 'x', size: -1 }, 'invalid_input')
      await refused({ name: 'x', size: 1.5 }, 'invalid_input')
      await refused({ name: 'x', size: Number.MAX_SAFE_INTEGER + 2 }, 'invalid_input')
      await refused({ name: '', size: 1 }, 'invalid_input')
      await refused({ name: 'x'.repeat(20_000), size: 1 }, 'invalid_input')
      await refused({ name: 'x', size: 1, type: 't'.repeat(300) }, 'invalid_input')
      await refused({ name: 'x', size: 1, roomId: 'another' }, 'invalid_input')
      await refused('not an object', 'invalid_input')
      expect(await shares()).toBe(0)

      // files:ready before the upload is complete tells nobody.
      const { upload } = ok(await a.emitWithAck('files:leave', { name: 'half.bin', size: 10 }))
      expect(code(await a.emitWithAck('files:ready', { id: upload.id }))).toBe('upload_incomplete')
      // Names are stored as text only: markup, bidi controls and slashes come back as they were sent.
      const odd = await leave(a, randomBytes(10), '<img src=x onerror=alert(1)>/\u202e.txt')
      expect(odd.name).toBe('<img src=x onerror=alert(1)>/\u202e.txt')
      await leave(a, new Uint8Array(0), 'empty.txt')
      // Three files (one still uploading) fill this room.
      expect(code(await a.emitWithAck('files:leave', { name: 'one-more', size: 1 }))).toBe('room_files_full')
      expect(await shares()).toBe(3)
      expect(heard.map((e) => e.file.name)).toEqual([odd.name, 'empty.txt'])
    })

    it('a flood of files:list is cut off with rate_limited instead of reaching the database without bound', async () => {
      const { a } = await room()
      const answers = await Promise.all(Array.from({ length: 60 }, () => a.emitWithAck('files:list', {})))
      const codes = answers.map(code)
      expect(codes).toContain('rate_limited')
      expect(codes.filter((c) => c === 'ok').length).toBeLessThanOrEqual(35)
    })
  })
}
