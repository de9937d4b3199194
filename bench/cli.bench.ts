/**
 * Command-line client benchmark: prints JSON figures, asserts nothing.
 *
 *   pnpm build && node cli/build.mjs && pnpm bench:cli    # 256 MiB, disk store, PGlite
 *   BENCH_SIZE=1GiB pnpm bench:cli
 *
 * Same file, same server, same run: `sharesync send` (the browser's resumable protocol: signed part
 * URLs) vs `curl -T` to the streaming upload route; `sharesync send -E` (encrypted on the way);
 * `sharesync get` vs `curl -L` of the same share; `sharesync get` of the encrypted share (decrypting).
 * The CLI is the bundled cli/dist/sharesync.js, as npx runs it.
 */
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parseSize } from '../backend/src/config'
import { startApp } from '../test/support/app-server'

const run = promisify(execFile)
const SIZE = parseSize(process.env.BENCH_SIZE ?? '256MiB') ?? 2 ** 28
const CLI = new URL('../cli/dist/sharesync.js', import.meta.url).pathname
const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`)
const mibs = (ms: number) => Math.round((SIZE / 2 ** 20 / (ms / 1000)) * 10) / 10

async function timed(label: string, work: () => Promise<unknown>): Promise<number> {
  progress(label)
  const t = performance.now()
  await work()
  return performance.now() - t
}

const sha = (path: string) =>
  new Promise<string>((done) => {
    const h = createHash('sha256')
    createReadStream(path).on('data', (d) => h.update(d)).on('end', () => done(h.digest('hex')))
  })

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'sharesync-cli-bench-'))
  const app = await startApp({ MAX_FILE_SIZE: '20GiB', ANON_MAX_FILE_SIZE: '20GiB', ANON_DAILY_QUOTA: '100GiB', UPLOAD_RATE_LIMIT: '1000/1h' })
  try {
    const file = join(dir, 'bench.bin')
    const out = createWriteStream(file)
    for (let left = SIZE; left > 0; left -= 2 ** 20) if (!out.write(randomBytes(Math.min(2 ** 20, left)))) await once(out, 'drain')
    out.end()
    await once(out, 'finish')
    const want = await sha(file)
    const env = { ...process.env, SHARESYNC_URL: app.url, SHARESYNC_STATE_DIR: join(dir, 'state') }
    const cli = async (...args: string[]) => (await run(process.execPath, [CLI, ...args], { env, maxBuffer: 2 ** 20 })).stdout

    // Warm-up: the first request of a fresh server pays for its start (JIT, database pages); neither
    // side of a comparison should.
    const small = join(dir, 'warm.bin')
    writeFileSync(small, randomBytes(2 ** 20))
    await cli('send', small, '--json', '-q')
    await run('curl', ['-sf', '-T', small, `${app.url}/api/upload/warm.bin`])

    let plain = ''
    let sealed = ''
    const sendCli = await timed('sharesync send', async () => (plain = JSON.parse(await cli('send', file, '--json', '-q')).link))
    const sendCurl = await timed('curl -T', () => run('curl', ['-sf', '-T', file, `${app.url}/api/upload/bench.bin`]))
    const sendEncrypted = await timed('sharesync send -E', async () => (sealed = JSON.parse(await cli('send', file, '-E', '--json', '-q')).link))

    const got = join(dir, 'got.bin')
    const getCli = await timed('sharesync get', () => cli('get', plain, '-o', got, '-q'))
    const okPlain = (await sha(got)) === want
    rmSync(got)
    const id = new URL(plain).pathname.split('/').pop()
    const getCurl = await timed('curl -L', () => run('curl', ['-sfL', '-o', got, `${app.url}/api/shares/${id}/download`]))
    rmSync(got)
    const getEncrypted = await timed('sharesync get (encrypted)', () => cli('get', sealed, '-o', got, '-q'))
    const okSealed = (await sha(got)) === want

    const figures = {
      bench: 'cli',
      sizeMiB: Math.round(SIZE / 2 ** 20),
      upload: {
        cliMiBps: mibs(sendCli),
        curlStreamMiBps: mibs(sendCurl),
        cliEncryptedMiBps: mibs(sendEncrypted),
        cliVsCurl: Math.round((sendCurl / sendCli) * 100) / 100,
      },
      download: {
        cliMiBps: mibs(getCli),
        curlMiBps: mibs(getCurl),
        cliDecryptingMiBps: mibs(getEncrypted),
        cliVsCurl: Math.round((getCurl / getCli) * 100) / 100,
      },
      byteIdentical: { plain: okPlain, encrypted: okSealed },
    }
    process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`)
  } finally {
    await app.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
