/**
 * The command-line client (cli/) as a user runs it — a real process — against a real server: send a
 * 200 MB file, a folder and stdin and get them back byte-identical, end-to-end encrypted links with
 * and without a password, interrupted sends (files and stdin) and gets (plain and encrypted) that resume, --json, list and delete with a token,
 * and exit codes; hostile names in a share never leave the output folder.
 */
import { execFileSync, spawn } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { once } from 'node:events'
import { ShareKey, encryptedSize, formatKeyToken, newSecret, sealMetadata, sealPart } from '@sharesync/crypto'
import type { CreatedToken, CreateShareResponse, MyShare, SignPartsResponse } from '@sharesync/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './support/harness'
import { browserFetch, CookieJar, signInFlow, startOAuthServer, type LocalOAuth } from './support/oauth'

const REPO = resolve(import.meta.dirname, '../..')
/** The CLI as its package ships it: bundled once (cli/build.mjs) in beforeAll, then run by node alone. */
const CLI = join(REPO, 'cli/dist/sharesync.js')
const MiB = 2 ** 20

let oauth: LocalOAuth
let server: TestServer
let work: string
let stateDir: string
let token: string
let uploadOnly: string

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `sharesync …` as a child process (the bundled CLI), stdin from `input` when given. */
function sharesync(
  args: string[],
  opts: { input?: Buffer | string; env?: Record<string, string>; onStderr?: (text: string, kill: () => void) => void; poll?: (kill: () => void) => void } = {},
): Promise<Run> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO,
    env: { ...process.env, SHARESYNC_URL: server.url, SHARESYNC_STATE_DIR: stateDir, SHARESYNC_TOKEN: '', SHARESYNC_PASSWORD: '', ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
    opts.onStderr?.(stderr, () => child.kill('SIGKILL'))
  })
  // A check every few milliseconds while it runs (to kill it at a chosen point of a download).
  const timer = opts.poll ? setInterval(() => opts.poll!(() => child.kill('SIGKILL')), 2) : undefined
  child.stdin.on('error', () => undefined)
  child.stdin.end(opts.input ?? '')
  return new Promise((done) =>
    child.on('close', (code) => {
      clearInterval(timer)
      done({ code, stdout, stderr })
    }),
  )
}

const sha = (path: string) =>
  new Promise<string>((done, fail) => {
    const h = createHash('sha256')
    createReadStream(path).on('data', (d) => h.update(d)).on('end', () => done(h.digest('hex'))).on('error', fail)
  })

/** A file of `size` random bytes, written a MiB at a time. */
async function randomFile(path: string, size: number): Promise<void> {
  const out = createWriteStream(path)
  for (let left = size; left > 0; left -= MiB) {
    if (!out.write(randomBytes(Math.min(MiB, left)))) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}

function json<T>(run: Run): T {
  expect(run.code, run.stderr).toBe(0)
  return JSON.parse(run.stdout) as T
}

async function makeToken(jar: CookieJar, scopes: string[]): Promise<string> {
  const res = await browserFetch(jar, `${server.url}/api/me/tokens`, {
    method: 'POST',
    headers: { origin: server.url, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `cli ${scopes.join(' ')}`, scopes, expiresInDays: 1 }),
  })
  expect(res.status).toBe(201)
  return ((await res.json()) as CreatedToken).token
}

beforeAll(async () => {
  // Bundling takes a second; running the bundle saves about half a second of CPU on each of ~55 runs
  // against loading the TypeScript sources through tsx.
  execFileSync(process.execPath, [join(REPO, 'cli/build.mjs')], { stdio: 'inherit' })
  oauth = await startOAuthServer()
  server = await startTestServer({ ...oauth.env, PART_SIZE: '5MiB', MAX_FILE_SIZE: '300MiB', ANON_MAX_FILE_SIZE: '300MiB', ANON_DAILY_QUOTA: '2GiB', DAILY_QUOTA: '2GiB', UPLOAD_RATE_LIMIT: '1000/1h' })
  work = mkdtempSync(join(tmpdir(), 'sharesync-cli-'))
  stateDir = join(work, 'state')
  oauth.setUser({ sub: 'g-cli', email: 'cli@example.com', name: 'CLI', email_verified: true })
  const jar = new CookieJar()
  expect((await signInFlow(server.url, jar)).response.status).toBe(302)
  token = await makeToken(jar, ['upload', 'read', 'delete'])
  uploadOnly = await makeToken(jar, ['upload'])
})
afterAll(async () => {
  await server?.close()
  await oauth?.stop()
  if (work) rmSync(work, { recursive: true, force: true })
})

interface Sent {
  id: string
  link: string
  url: string
  encrypted: boolean
  files: { name: string; path: string; size: number }[]
  resumed: boolean
}

describe('sharesync send / get', () => {
  it('a 200 MB file goes up and comes back byte-identical; --json output parses', async () => {
    const file = join(work, 'big.bin')
    await randomFile(file, 200 * 1000 * 1000)
    const sent = json<Sent>(await sharesync(['send', file, '--json', '--expires', '1h']))
    expect(sent.link).toBe(`${server.url}/s/${sent.id}`)
    expect(sent.files).toEqual([{ name: 'big.bin', path: '', size: 200 * 1000 * 1000 }])
    const out = join(work, 'big.back')
    const got = json<{ files: { savedTo: string }[] }>(await sharesync(['get', sent.link, '-o', out, '--json']))
    expect(got.files[0]!.savedTo).toBe(out)
    expect(await sha(out)).toBe(await sha(file))
    rmSync(out)
    rmSync(file)
  }, 120_000)

  it('a folder is one share keeping its tree, and comes back as the same tree', async () => {
    const dir = join(work, 'photos')
    mkdirSync(join(dir, '2024', 'summer'), { recursive: true })
    writeFileSync(join(dir, 'a.txt'), 'top')
    writeFileSync(join(dir, '2024', 'b.bin'), randomBytes(70_000))
    writeFileSync(join(dir, '2024', 'summer', 'c é.txt'), 'deep')
    writeFileSync(join(dir, 'empty'), '')
    const sent = json<Sent>(await sharesync(['send', dir, '--json']))
    expect(sent.files.map((f) => `${f.path}/${f.name}`).sort()).toEqual(['photos/2024/b.bin', 'photos/2024/summer/c é.txt', 'photos/a.txt', 'photos/empty'].sort())
    const out = join(work, 'photos-back')
    mkdirSync(out)
    expect((await sharesync(['get', sent.link, '-o', out, '-q'])).code).toBe(0)
    for (const rel of ['a.txt', '2024/b.bin', '2024/summer/c é.txt', 'empty']) {
      expect(readFileSync(join(out, 'photos', rel)).equals(readFileSync(join(dir, rel))), rel).toBe(true)
    }
  })

  it('standard input is sent under --name and comes back on standard output', async () => {
    const data = randomBytes(300_000)
    const sent = json<Sent>(await sharesync(['send', '-', '--name', 'piped.bin', '--json'], { input: data }))
    expect(sent.files[0]!.name).toBe('piped.bin')
    const back = await new Promise<Buffer>((done) => {
      const child = spawn(process.execPath, [CLI, 'get', sent.link, '-o', '-'], { cwd: REPO })
      const chunks: Buffer[] = []
      child.stdout.on('data', (d: Buffer) => chunks.push(d))
      child.on('close', () => done(Buffer.concat(chunks)))
    })
    expect(back.equals(data)).toBe(true)
  })

  it('a one-download link comes back once; the second get is refused with exit 5 and saves nothing', async () => {
    const file = join(work, 'once.bin')
    writeFileSync(file, randomBytes(200_000))
    const sent = json<Sent>(await sharesync(['send', file, '-n', '1', '--json']))
    const out = join(work, 'once.back')
    expect((await sharesync(['get', sent.link, '-o', out, '-q'])).code).toBe(0)
    expect(readFileSync(out).equals(readFileSync(file))).toBe(true)
    rmSync(out)
    const again = await sharesync(['get', sent.link, '-o', out, '-q'])
    expect(again.code, again.stderr).toBe(5)
    expect(existsSync(out)).toBe(false)
  })

  it('get resumes a plain download from its .part file with Range (only the rest is fetched)', async () => {
    const file = join(work, 'range.bin')
    const data = randomBytes(3 * MiB)
    writeFileSync(file, data)
    const sent = json<Sent>(await sharesync(['send', file, '--json']))
    const out = join(work, 'range.back')
    // A .part of the first MiB, as an interrupted run leaves it, but zeros: a resumed download keeps
    // them, a restarted one would overwrite them.
    writeFileSync(`${out}.part`, Buffer.alloc(MiB))
    expect((await sharesync(['get', sent.link, '-o', out, '-q'])).code).toBe(0)
    const back = readFileSync(out)
    expect(back.length).toBe(data.length)
    expect(back.subarray(0, MiB).equals(Buffer.alloc(MiB))).toBe(true)
    expect(back.subarray(MiB).equals(data.subarray(MiB))).toBe(true)
    expect(existsSync(`${out}.part`)).toBe(false)
  })

  it('an end-to-end encrypted link with a password: the key stays in the fragment, the server sees no name, get decrypts', async () => {
    const file = join(work, 'secret report.pdf')
    await randomFile(file, 6 * MiB + 123)
    const sent = json<Sent>(await sharesync(['send', file, '-E', '-p', 'correct horse', '--json']))
    expect(sent.encrypted).toBe(true)
    expect(sent.link).toMatch(new RegExp(`^${server.url}/s/${sent.id}#[A-Za-z0-9_-]{22}\\.p$`))
    const [row] = await server.deps.db.query<{ name: string }>(`SELECT name FROM files WHERE share_id = $1`, [sent.id])
    expect(row!.name).not.toContain('secret')

    const out = join(work, 'decrypted.pdf')
    const noPassword = await sharesync(['get', sent.link, '-o', out])
    expect(noPassword.code).toBe(4)
    const wrong = await sharesync(['get', sent.link, '-o', out, '-p', 'wrong'])
    expect(wrong.code).toBe(4)
    expect(existsSync(out)).toBe(false)
    expect((await sharesync(['get', sent.link, '-o', out, '-p', 'correct horse'])).code).toBe(0)
    expect(await sha(out)).toBe(await sha(file))
  })

  it('an encrypted folder without a password keeps names and folders inside the envelope', async () => {
    const dir = join(work, 'enc-dir')
    mkdirSync(join(dir, 'sub'), { recursive: true })
    writeFileSync(join(dir, 'one.txt'), 'one')
    writeFileSync(join(dir, 'sub', 'two.bin'), randomBytes(200_000))
    const sent = json<Sent>(await sharesync(['send', dir, '--encrypt', '--json']))
    expect(sent.link).toMatch(/#[A-Za-z0-9_-]{22}$/)
    const out = join(work, 'enc-back')
    mkdirSync(out)
    expect((await sharesync(['get', sent.link, '-o', out, '-q'])).code).toBe(0)
    expect(readFileSync(join(out, 'enc-dir', 'one.txt'), 'utf8')).toBe('one')
    expect(readFileSync(join(out, 'enc-dir', 'sub', 'two.bin')).equals(readFileSync(join(dir, 'sub', 'two.bin')))).toBe(true)
  })

  it('a tampered encrypted file is refused with exit 7 and nothing is left under its name', async () => {
    const file = join(work, 'tamper.bin')
    writeFileSync(file, randomBytes(100_000))
    const sent = json<Sent>(await sharesync(['send', file, '-E', '--json']))
    // Flip one byte of the stored ciphertext (the disk store keeps blobs under DATA_DIR).
    const blobs = findFiles(server.dataDir).filter((p) => readFileSync(p).length === encryptedSize(100_000))
    expect(blobs.length).toBeGreaterThan(0)
    for (const blob of blobs) {
      const bytes = readFileSync(blob)
      bytes[50_000] = bytes[50_000]! ^ 1
      writeFileSync(blob, bytes)
    }
    const out = join(work, 'tamper.back')
    const run = await sharesync(['get', sent.link, '-o', out])
    expect(run.code, run.stderr).toBe(7)
    expect(existsSync(out)).toBe(false)
    expect(existsSync(`${out}.part`)).toBe(false)
  })

  it('an interrupted send (the process killed mid-way) resumes where it stopped when run again', async () => {
    const file = join(work, 'resume.bin')
    await randomFile(file, 30 * MiB)
    let killedAt = 0
    // Without --json and on a pipe: a plain progress line every 10 %.
    const first = await sharesync(['send', file], {
      onStderr: (text, kill) => {
        const pct = [...text.matchAll(/send:\s+(\d+)%/g)].map((m) => Number(m[1])).pop() ?? 0
        if (pct >= 30 && !killedAt) {
          killedAt = pct
          kill()
        }
      },
    })
    expect(first.code).not.toBe(0)
    expect(killedAt).toBeGreaterThanOrEqual(30)
    const states = readdirSync(stateDir)
    expect(states).toHaveLength(1)
    const { shareId } = JSON.parse(readFileSync(join(stateDir, states[0]!), 'utf8')) as { shareId: string }
    const [held] = await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM files WHERE share_id = $1`, [shareId])
    expect(held!.n).toBe(1)

    const second = await sharesync(['send', file])
    expect(second.code, second.stderr).toBe(0)
    expect(second.stderr).toMatch(/resuming .*: [1-9]\d*% already on the server/)
    expect(second.stdout.trim()).toBe(`${server.url}/s/${shareId}`)
    const sent = { link: second.stdout.trim() }
    expect(readdirSync(stateDir)).toEqual([])
    const out = join(work, 'resume.back')
    expect((await sharesync(['get', sent.link, '-o', out, '-q'])).code).toBe(0)
    expect(await sha(out)).toBe(await sha(file))
  }, 90_000)
})

describe('interrupted transfers resume', () => {
  it('an encrypted get killed mid-way resumes with Range on the ciphertext and the file comes back byte-identical', async () => {
    const file = join(work, 'enc-resume.bin')
    await randomFile(file, 32 * MiB)
    const sent = json<Sent>(await sharesync(['send', file, '-E', '--json', '-q']))
    const out = join(work, 'enc-resume.back')
    let keptAtKill = 0
    const first = await sharesync(['get', sent.link, '-o', out], {
      poll: (kill) => {
        const size = existsSync(`${out}.part`) ? statSync(`${out}.part`).size : 0
        if (size >= 4 * MiB && !keptAtKill) {
          keptAtKill = size
          kill()
        }
      },
    })
    expect(first.code, first.stderr).not.toBe(0)
    expect(keptAtKill).toBeGreaterThanOrEqual(4 * MiB)
    expect(existsSync(out)).toBe(false)
    const kept = statSync(`${out}.part`).size
    expect(kept).toBeLessThan(32 * MiB)

    const second = await sharesync(['get', sent.link, '-o', out])
    expect(second.code, second.stderr).toBe(0)
    // It picked up after the whole records the .part held (less the one fetched again to compare).
    const resumedAfter = /resuming after ([\d.]+) MiB already saved/.exec(second.stderr)
    expect(resumedAfter, second.stderr).not.toBeNull()
    expect(Number(resumedAfter![1]) * MiB).toBeGreaterThan(kept - 3 * 65536)
    expect(second.stderr).not.toContain('not this file')
    expect(existsSync(`${out}.part`)).toBe(false)
    expect(await sha(out)).toBe(await sha(file))
    rmSync(file)
    rmSync(out)
  }, 60_000)

  it('an encrypted get does not trust a .part of another file: it is downloaded again, and comes back right', async () => {
    const file = join(work, 'enc-other.bin')
    writeFileSync(file, randomBytes(3 * MiB))
    const sent = json<Sent>(await sharesync(['send', file, '-E', '--json', '-q']))
    const out = join(work, 'enc-other.back')
    writeFileSync(`${out}.part`, randomBytes(MiB))
    const run = await sharesync(['get', sent.link, '-o', out])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toContain('not this file')
    expect(readFileSync(out).equals(readFileSync(file))).toBe(true)
  })

  it('a stdin send killed mid-way resumes when the same bytes are piped again (same link, only the rest sent)', async () => {
    const data = randomBytes(20 * MiB)
    let killedAt = 0
    const first = await sharesync(['send', '-', '--name', 'piped.tar', '-E'], {
      input: data,
      onStderr: (text, kill) => {
        const pct = [...text.matchAll(/send:\s+(\d+)%/g)].map((m) => Number(m[1])).pop() ?? 0
        if (pct >= 20 && !killedAt) {
          killedAt = pct
          kill()
        }
      },
    })
    expect(first.code).not.toBe(0)
    expect(killedAt).toBeGreaterThanOrEqual(20)
    const states = readdirSync(stateDir)
    expect(states).toHaveLength(1)
    const { shareId } = JSON.parse(readFileSync(join(stateDir, states[0]!), 'utf8')) as { shareId: string }

    // Other bytes on stdin are another upload, not a resume of this one.
    const other = json<Sent>(await sharesync(['send', '-', '--name', 'other.bin', '--json', '-q'], { input: randomBytes(1000) }))
    expect(other.id).not.toBe(shareId)
    expect(readdirSync(stateDir)).toEqual(states)

    const second = await sharesync(['send', '-', '--name', 'piped.tar', '-E', '--json'], { input: data })
    const sent = json<Sent>(second)
    expect(sent.id).toBe(shareId)
    expect(sent.resumed).toBe(true)
    expect(readdirSync(stateDir)).toEqual([])
    const out = join(work, 'piped.back')
    expect((await sharesync(['get', sent.link, '-o', out, '-q'])).code).toBe(0)
    expect(readFileSync(out).equals(data)).toBe(true)
  }, 60_000)
})

describe('servers that do not behave', () => {
  /**
   * A real HTTP server in front of the app that passes the API through but serves the file itself,
   * as `mode` says: ignoring Range (a balancer or store that cannot resume), or refusing with a JSON error.
   */
  async function frontOf(mode: { current: 'ignore-range' | 'forbidden' }): Promise<{ url: string; close: () => Promise<void> }> {
    const front = createServer((req, res) => {
      void (async () => {
        const chunks: Buffer[] = []
        for await (const c of req) chunks.push(c as Buffer)
        const url = new URL(req.url ?? '/', 'http://front.invalid')
        if (url.pathname === '/blob') {
          if (mode.current === 'forbidden') {
            res.writeHead(403, { 'content-type': 'application/json' })
            return res.end(JSON.stringify({ error: { code: 'forbidden', message: 'The front refuses this file.' } }))
          }
          const whole = await fetch(url.searchParams.get('u')!)
          res.writeHead(200, { 'content-length': whole.headers.get('content-length') ?? '' })
          return res.end(Buffer.from(await whole.arrayBuffer()))
        }
        const answer = await fetch(`${server.url}${req.url}`, {
          method: req.method,
          headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
          body: req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.concat(chunks),
        })
        let text = await answer.text()
        if (answer.ok && url.pathname.endsWith('/download')) {
          const body = JSON.parse(text) as { url: string }
          body.url = `/blob?u=${encodeURIComponent(new URL(body.url, server.url).toString())}`
          text = JSON.stringify(body)
        }
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' })
        res.end(text)
      })().catch(() => res.destroy())
    })
    front.listen(0, '127.0.0.1')
    await once(front, 'listening')
    const { port } = front.address() as AddressInfo
    return { url: `http://127.0.0.1:${port}`, close: () => new Promise((done) => front.close(() => done())) }
  }

  it('an encrypted get from a server that ignores Range starts over and is byte-identical; a file the server refuses gives its message and exit 4, plain or encrypted', async () => {
    const mode = { current: 'ignore-range' as 'ignore-range' | 'forbidden' }
    const front = await frontOf(mode)
    try {
      const file = join(work, 'norange.bin')
      const data = randomBytes(3 * MiB)
      writeFileSync(file, data)
      const sent = json<Sent>(await sharesync(['send', file, '-E', '--json', '-q']))
      const out = join(work, 'norange.back')
      // The right first MiB, as an interrupted run leaves it: worth resuming.
      writeFileSync(`${out}.part`, data.subarray(0, MiB))
      const run = await sharesync(['get', sent.link.replace(server.url, front.url), '-o', out])
      expect(run.code, run.stderr).toBe(0)
      expect(run.stderr).toContain('cannot resume')
      expect(readFileSync(out).equals(data)).toBe(true)

      // A refused file is the server's error and exit code; nothing is saved.
      mode.current = 'forbidden'
      const refused = await sharesync(['get', sent.link.replace(server.url, front.url), '-o', join(work, 'refused.back')])
      expect(refused.code).toBe(4)
      expect(refused.stderr).toContain('The front refuses this file.')
      const plain = json<Sent>(await sharesync(['send', file, '--json', '-q']))
      const plainRefused = await sharesync(['get', plain.link.replace(server.url, front.url), '-o', join(work, 'refused.back')])
      expect(plainRefused.code).toBe(4)
      expect(plainRefused.stderr).toContain('The front refuses this file.')
      expect(existsSync(join(work, 'refused.back'))).toBe(false)
    } finally {
      await front.close()
    }
  })
})

describe('sharesync list / delete (with a token)', () => {
  it('lists the account\'s shares and deletes one; an upload-only token may send but not list (exit 4)', async () => {
    const file = join(work, 'mine.txt')
    writeFileSync(file, 'mine')
    const sent = json<Sent>(await sharesync(['send', file, '--json'], { env: { SHARESYNC_TOKEN: uploadOnly } }))
    const listed = json<MyShare[]>(await sharesync(['list', '--json'], { env: { SHARESYNC_TOKEN: token } }))
    expect(listed.map((s) => s.id)).toContain(sent.id)

    const refused = await sharesync(['list'], { env: { SHARESYNC_TOKEN: uploadOnly } })
    expect(refused.code).toBe(4)
    expect(refused.stderr).toContain('token_scope_missing')

    expect(json<{ deleted: string[] }>(await sharesync(['delete', sent.link, '--json'], { env: { SHARESYNC_TOKEN: token } })).deleted).toEqual([sent.id])
    expect((await fetch(`${server.url}/api/shares/${sent.id}`)).status).toBe(404)
    expect((await sharesync(['delete', sent.id], { env: { SHARESYNC_TOKEN: token } })).code).toBe(5)
  })
})

describe('exit codes and hostile input', () => {
  it('usage errors are 2, unknown links 5, a revoked or bad token 4, an unreachable server 6', async () => {
    expect((await sharesync(['send'])).code).toBe(2)
    expect((await sharesync(['send', join(work, 'does-not-exist')])).code).toBe(2)
    expect((await sharesync(['send', '--bogus', 'x'])).code).toBe(2)
    expect((await sharesync(['list'])).code).toBe(2)
    expect((await sharesync(['get', 'not a link'])).code).toBe(2)
    expect((await sharesync(['get', `${server.url}/s/AAAAAAAAAAAAAAAAAAAAAA`])).code).toBe(5)
    // An id beginning with '-' (made before ids stopped doing so) reads as an option (2) unless after
    // --: then it reaches the server, which refuses this token (4).
    expect((await sharesync(['delete', '-AAAAAAAAAAAAAAAAAAAAA'], { env: { SHARESYNC_TOKEN: 'sst_nope' } })).code).toBe(2)
    expect((await sharesync(['delete', '--', '-AAAAAAAAAAAAAAAAAAAAA'], { env: { SHARESYNC_TOKEN: 'sst_nope' } })).code).toBe(4)
    expect((await sharesync(['list'], { env: { SHARESYNC_TOKEN: 'sst_nope' } })).code).toBe(4)
    writeFileSync(join(work, 'small.txt'), 'small')
    expect((await sharesync(['send', join(work, 'small.txt')], { env: { SHARESYNC_URL: 'http://127.0.0.1:1' } })).code).toBe(6)
    const help = await sharesync(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Exit codes')
  })

  it('names in an encrypted share that try to leave the output folder are kept inside it', async () => {
    // An uploader can write anything into the encrypted envelope: the server cannot check it.
    const secret = newSecret()
    const key = await ShareKey.derive(secret, null)
    const names = [
      { name: '../../escaped.txt', type: 'text/plain', path: '../..' },
      { name: 'abs.txt', type: 'text/plain', path: '/etc' },
    ]
    const body = Buffer.from('hostile')
    const created = (await (
      await fetch(`${server.url}/api/shares`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ encrypted: true, metadata: await sealMetadata(key, { files: names }), files: names.map(() => ({ size: encryptedSize(body.length) })) }),
      })
    ).json()) as CreateShareResponse
    const owner = { 'x-owner-token': created.ownerToken!, 'content-type': 'application/json' }
    for (const [i, f] of created.files.entries()) {
      const signed = (await (await fetch(`${server.url}/api/shares/${created.id}/files/${f.id}/parts`, { method: 'POST', headers: owner, body: JSON.stringify({ partNumbers: [1] }) })).json()) as SignPartsResponse
      const part = await sealPart(await key.fileKey(i), body.length, f.partSize, 1, async (s, e) => body.subarray(s, e))
      const put = await fetch(new URL(signed.parts[0]!.url, server.url), { method: 'PUT', body: part })
      const etag = put.headers.get('etag')!
      expect((await fetch(`${server.url}/api/shares/${created.id}/files/${f.id}/complete`, { method: 'POST', headers: owner, body: JSON.stringify({ parts: [{ partNumber: 1, etag }] }) })).status).toBe(200)
    }
    expect((await fetch(`${server.url}/api/shares/${created.id}/finalize`, { method: 'POST', headers: owner })).status).toBe(200)

    const out = join(work, 'jail', 'inside')
    mkdirSync(out, { recursive: true })
    const run = await sharesync(['get', `${server.url}/s/${created.id}#${formatKeyToken(secret, false)}`, '-o', out, '--json'])
    const got = json<{ files: { savedTo: string }[] }>(run)
    for (const f of got.files) expect(f.savedTo.startsWith(out + '/'), f.savedTo).toBe(true)
    expect(existsSync(join(work, 'escaped.txt'))).toBe(false)
    expect(existsSync(join(work, 'jail', 'escaped.txt'))).toBe(false)
  })
})

function findFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? findFiles(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []))
}

describe('the package as it would be published', () => {
  it('the packed sharesync-cli (pnpm pack) runs from its bin with only its declared dependencies: a file goes up and comes back', async () => {
    const dir = mkdtempSync(join(work, 'pack-'))
    execFileSync('pnpm', ['pack', '--pack-destination', dir], { cwd: join(REPO, 'cli'), stdio: 'ignore' })
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))
    expect(tarball).toBeDefined()
    execFileSync('tar', ['-xzf', join(dir, tarball!), '-C', dir])
    const pkg = JSON.parse(readFileSync(join(dir, 'package/package.json'), 'utf8')) as { bin: Record<string, string>; dependencies: Record<string, string> }
    // Nothing from the workspace is needed at run time: it is bundled into the bin.
    expect(Object.values(pkg.dependencies).some((range) => range.startsWith('workspace:'))).toBe(false)
    expect(readdirSync(join(dir, 'package'))).not.toContain('src')
    // The npm dependencies, as the registry install would provide them (here: the workspace's copies).
    symlinkSync(join(REPO, 'cli/node_modules'), join(dir, 'package/node_modules'), 'dir')
    const bin = join(dir, 'package', pkg.bin.sharesync!)
    const file = join(dir, 'packed.txt')
    writeFileSync(file, randomBytes(300_000))
    const run = (args: string[]) =>
      new Promise<Run>((done) => {
        const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, SHARESYNC_URL: server.url, SHARESYNC_STATE_DIR: stateDir, SHARESYNC_TOKEN: '' } })
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
        child.on('close', (code) => done({ code, stdout, stderr }))
      })
    const sent = json<Sent>(await run(['send', file, '--json']))
    const out = join(dir, 'packed.back')
    expect((await run(['get', sent.link, '-o', out])).code).toBe(0)
    expect(await sha(out)).toBe(await sha(file))
  }, 60_000)
})
