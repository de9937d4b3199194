/**
 * The README's curl examples, run as they are written there (the code block is read from README.md,
 * only the host and the <placeholders> are substituted), with the real curl against a real server:
 * each succeeds where it should and exits non-zero — saving no file — where it should not. A command
 * added to that block without a rule here fails this test.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './support/harness'

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
const HOST = 'https://share.example.com'
const exec = promisify(execFile)

/** The commands of the first sh block of the README's "### curl" section, comments and blanks dropped. */
function readmeCommands(): string[] {
  const start = README.indexOf('\n### curl\n')
  if (start < 0) throw new Error('the README has no "### curl" section')
  const section = README.slice(start)
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? ''
  return block.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))
}

let server: TestServer
let dir: string
const report = Buffer.from('%PDF-1.4 a report\n'.repeat(2000))

beforeAll(async () => {
  server = await startTestServer({ UPLOAD_RATE_LIMIT: '1000/1h' })
})
afterAll(async () => {
  await server?.close()
})

/** A fresh folder with the files the examples name, as a user's working folder. */
function workdir(): string {
  dir = mkdtempSync(join(tmpdir(), 'ss-readme-'))
  writeFileSync(join(dir, 'report.pdf'), report)
  writeFileSync(join(dir, 'key.txt'), 'a key\n')
  writeFileSync(join(dir, 'build.tar.gz'), Buffer.alloc(5000, 7))
  mkdirSync(join(dir, 'mydir'))
  writeFileSync(join(dir, 'mydir', 'a.txt'), 'a\n')
  return dir
}

/** Runs one README line in bash, with the host and placeholders replaced; never throws. */
async function runLine(line: string, values: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string; files: string[] }> {
  let command = line.replaceAll(HOST, server.url)
  for (const [k, v] of Object.entries(values)) command = command.replaceAll(`<${k}>`, v)
  expect(command, 'a placeholder was left').not.toMatch(/<[a-zA-Z]+>/)
  const before = new Set(readdirSync(dir))
  const result = await exec('bash', ['-c', command], { cwd: dir, timeout: 20_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  )
  return { ...result, files: readdirSync(dir).filter((f) => !before.has(f)) }
}

type Share = { id: string; url: string; downloadUrl: string; ownerToken: string; maxDownloads: number | null }
async function upload(name: string, body: Buffer, query = ''): Promise<Share> {
  const res = await server.fetch(`/api/upload/${name}${query}`, { method: 'PUT', body: new Uint8Array(body) })
  expect(res.status).toBe(201)
  return (await res.json()) as Share
}

const rules: { match: RegExp; check: (line: string) => Promise<void> }[] = [
  {
    match: /-F file=@report\.pdf/,
    async check(line) {
      const r = await runLine(line)
      expect(r.code).toBe(0)
      expect(r.stdout.endsWith('}\n')).toBe(true)
      expect(JSON.parse(r.stdout)).toMatchObject({ url: expect.stringContaining('/s/') })
    },
  },
  {
    match: /-F file=@key\.txt -F maxDownloads=1/,
    async check(line) {
      const r = await runLine(line)
      expect(r.code).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({ maxDownloads: 1 })
    },
  },
  {
    match: /-T build\.tar\.gz/,
    async check(line) {
      const r = await runLine(line)
      expect(r.code).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({ maxDownloads: 1 })
      // The same command with a refused option exits non-zero and prints the reason.
      const bad = await runLine(line.replace('maxDownloads=1', 'maxDownloads=-4'))
      expect(bad.code).not.toBe(0)
      expect(JSON.parse(bad.stdout)).toMatchObject({ error: { code: 'invalid_input' } })
    },
  },
  {
    match: /^tar cz mydir \| curl/,
    async check(line) {
      const r = await runLine(line)
      expect(r.code).toBe(0)
      const { id } = JSON.parse(r.stdout) as Share
      const meta = (await (await server.fetch(`/api/shares/${id}`)).json()) as { files: { name: string; size: number }[] }
      expect(meta.files[0]).toMatchObject({ name: 'mydir.tar.gz' })
      expect(meta.files[0]!.size).toBeGreaterThan(0)
    },
  },
  {
    match: /format=url/,
    async check(line) {
      const r = await runLine(line)
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(new RegExp(`^${server.url}/s/[A-Za-z0-9_-]+\\n$`))
    },
  },
  {
    match: /^curl -fLOJ https:\S+\/download$/,
    async check(line) {
      const plain = await upload('notes.txt', Buffer.from('notes\n'))
      const ok = await runLine(line, { id: plain.id })
      expect(ok.code).toBe(0)
      expect(ok.files).toEqual(['notes.txt'])
      expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('notes\n')
      // A password share without the password, and a link that is gone: non-zero, and no file.
      const locked = await upload('locked.txt', Buffer.from('locked\n'), '?password=another-secret')
      for (const id of [locked.id, 'AAAAAAAAAAAAAAAAAAAAAA']) {
        const refused = await runLine(line, { id })
        expect(refused.code, id).toBe(22)
        expect(refused.files, id).toEqual([])
      }
    },
  },
  {
    match: /X-Share-Password: secret/,
    async check(line) {
      const locked = await upload('secret.txt', Buffer.from('s3cret\n'), '?password=secret')
      const ok = await runLine(line, { id: locked.id })
      expect(ok.code).toBe(0)
      expect(ok.files).toEqual(['secret.txt'])
      const other = await upload('other.txt', Buffer.from('other\n'), '?password=not-the-one')
      const refused = await runLine(line, { id: other.id })
      expect(refused.code).toBe(22)
      expect(refused.files).toEqual([])
    },
  },
  {
    match: /-w '%\{url_effective\}\\n'/,
    async check(line) {
      const limited = await upload('limited.pdf', report, '?maxDownloads=1')
      const r = await runLine(line, { id: limited.id })
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(/\/api\/shares\/[^/]+\/files\/[^/]+\/content\?lease=\S+\n$/)
      expect(readFileSync(join(dir, 'limited.pdf')).equals(report)).toBe(true)
      // Its one download is spent: the same command now exits non-zero and saves nothing.
      rmSync(join(dir, 'limited.pdf'))
      const again = await runLine(line, { id: limited.id })
      expect(again.code).toBe(22)
      expect(again.files).toEqual([])
    },
  },
  {
    match: /-C - -o report\.pdf/,
    async check(line) {
      const limited = await upload('cut.pdf', report, '?maxDownloads=1')
      const issued = (await (await server.fetch(`/api/shares/${limited.id}/download`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as {
        url: string
        lease: { token: string }
      }
      const fileId = /\/files\/([^/]+)\/content/.exec(issued.url)![1]!
      // A download cut at a third: report.pdf holds its first bytes.
      writeFileSync(join(dir, 'report.pdf'), report.subarray(0, Math.floor(report.length / 3)))
      const values = { id: limited.id, fileId, token: issued.lease.token }
      const r = await runLine(line, values)
      expect(r.code).toBe(0)
      expect(readFileSync(join(dir, 'report.pdf')).equals(report)).toBe(true)
      // Sent whole under this lease: asking again exits non-zero and leaves the file as it is.
      const again = await runLine(line, values)
      expect(again.code).toBe(22)
      expect(readFileSync(join(dir, 'report.pdf')).equals(report)).toBe(true)
    },
  },
  {
    match: /-X DELETE -H "X-Owner-Token: <ownerToken>"/,
    async check(line) {
      const share = await upload('gone.txt', Buffer.from('bye\n'))
      const wrong = await runLine(line, { id: share.id, ownerToken: 'not-the-token' })
      expect(wrong.code).toBe(22)
      expect((await server.fetch(`/api/shares/${share.id}`)).status).toBe(200)
      const ok = await runLine(line, { id: share.id, ownerToken: share.ownerToken })
      expect(ok.code).toBe(0)
      expect((await server.fetch(`/api/shares/${share.id}`)).status).toBe(404)
    },
  },
]

describe("the README's curl examples, run verbatim", () => {
  const commands = readmeCommands()

  it('every command of the block has a check here', () => {
    expect(commands.length).toBeGreaterThanOrEqual(10)
    for (const line of commands) expect(rules.filter((r) => r.match.test(line)), line).toHaveLength(1)
  })

  for (const line of commands) {
    it(line, async () => {
      workdir()
      try {
        const rule = rules.find((r) => r.match.test(line))
        expect(rule, 'no check for this command').toBeDefined()
        await rule!.check(line)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  }
})

describe('raw uploads without a usable name', () => {
  it('a pipe (curl -T - …/api/upload/) and /dev/null (which curl names "null") get a dated default name', async () => {
    workdir()
    try {
      for (const command of [`echo hello | curl -fsS -T - ${server.url}/api/upload/`, `curl -fsS -T /dev/null ${server.url}/api/upload/`, `curl -fsS -T /dev/null ${server.url}/api/upload`]) {
        const r = await runLine(command)
        expect(r.code, command).toBe(0)
        const { id } = JSON.parse(r.stdout) as Share
        const meta = (await (await server.fetch(`/api/shares/${id}`)).json()) as { files: { name: string }[] }
        expect(meta.files[0]!.name, command).toMatch(/^upload-\d{4}-\d{2}-\d{2}-\d{4}\.bin$/)
      }
      const text = await runLine(`curl -fsS -H 'Accept: text/plain' -H 'Content-Type: text/plain' -T - ${server.url}/api/upload/ < key.txt`)
      expect(text.stdout).toMatch(/^http:\S+\/s\/\S+\n$/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
