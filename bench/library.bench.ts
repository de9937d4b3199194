/**
 * Library benchmark: prints JSON figures, asserts nothing.
 *
 *   pnpm build && pnpm bench:library               # a 1 GiB file, and a 64-file folder of 1 GiB
 *   BENCH_SIZE=256MiB pnpm bench:library           # a quick run
 *
 * In the same run, on loopback:
 * (a) a library link to one BENCH_SIZE file, downloaded through the app (path checks on the open
 *     descriptor, recorded size/mtime/inode, the download monitor) vs. the same file served by a
 *     bare node http server with fs.createReadStream; and the app's RSS growth while it streams;
 * (b) a folder link (BENCH_FILES files adding up to BENCH_SIZE) downloaded as a streamed zip vs. the
 *     bare server sending one file of the same size.
 * Files are sparse (no disk space, page-cache reads): the figures are the app's overhead.
 */
import { spawn } from 'node:child_process'
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseSize } from '../backend/src/config'
import { CookieJar, signInFlow, startOAuthServer } from '../backend/test/support/oauth'
import { startApp } from '../test/support/app-server'
import { sampleRss } from './support/rss'
import { download } from './support/streams'

const env = process.env
const SIZE = parseSize(env.BENCH_SIZE ?? '1GiB') ?? 2 ** 30
const FILES = Number(env.BENCH_FILES ?? 64)
const ROUNDS = Number(env.BENCH_ROUNDS ?? 3)
const progress = (msg: string) => process.stderr.write(`[bench:library] ${msg}\n`)
const perSec = (bytes: number, ms: number) => Math.round((bytes / 2 ** 20 / (ms / 1000)) * 10) / 10
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

function sparse(path: string, size: number): void {
  const fd = openSync(path, 'w')
  writeSync(fd, Buffer.from('x'), 0, 1, size - 1)
  closeSync(fd)
}

async function bareServer(file: string): Promise<{ url: string; stop(): void }> {
  const proc = spawn(process.execPath, [new URL('./support/bare-file-server.mjs', import.meta.url).pathname, file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const port = await new Promise<number>((resolve) =>
    proc.stdout!.once('data', (d: Buffer) => resolve(Number(/listening (\d+)/.exec(d.toString())![1]))),
  )
  return { url: `http://127.0.0.1:${port}/`, stop: () => proc.kill('SIGTERM') }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'sharesync-bench-library-'))
  const lib = join(dir, 'lib')
  mkdirSync(join(lib, 'folder'), { recursive: true })
  sparse(join(lib, 'big.bin'), SIZE)
  for (let i = 0; i < FILES; i++) sparse(join(lib, 'folder', `part-${String(i).padStart(3, '0')}.bin`), Math.floor(SIZE / FILES))
  const oauth = await startOAuthServer()
  const admin = { sub: 'bench-admin', email: 'bench@example.com', email_verified: true }
  const app = await startApp({
    ...oauth.env,
    ADMIN_EMAILS: admin.email,
    LIBRARY_DIR: `Lib=${lib}`,
    UPLOAD_RATE_LIMIT: '100000/1m',
    DOWNLOAD_RATE_LIMIT: '100000/1m',
    LOG_LEVEL: 'warn',
  })
  const bare = await bareServer(join(lib, 'big.bin'))
  try {
    oauth.setUser(admin)
    const jar = new CookieJar()
    await signInFlow(app.url, jar)
    const link = async (path: string) => {
      const res = await fetch(`${app.url}/api/library/links`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: jar.header() },
        body: JSON.stringify({ path }),
      })
      if (res.status !== 201) throw new Error(`link ${path}: ${res.status} ${await res.text()}`)
      return (await res.json()) as { id: string; size: number }
    }
    const file = await link('Lib/big.bin')
    const folder = await link('Lib/folder')

    // Alternating rounds, medians: the machine is shared and noisy.
    const appMs: number[] = []
    const bareMs: number[] = []
    const zipMs: number[] = []
    let rssGrowth = 0
    for (let round = 0; round < ROUNDS; round++) {
      progress(`round ${round + 1}/${ROUNDS}`)
      const { result, rss } = await sampleRss(app.proc.pid!, () => download(`${app.url}/api/shares/${file.id}/download`))
      if (result.bytes !== SIZE) throw new Error(`library download: ${result.bytes} of ${SIZE} bytes`)
      appMs.push(result.ms)
      rssGrowth = Math.max(rssGrowth, rss.peakMiB - rss.baselineMiB)
      const b = await download(bare.url)
      bareMs.push(b.ms)
      const z = await download(`${app.url}/api/shares/${folder.id}/download`)
      if (z.bytes !== folder.size) throw new Error(`zip: ${z.bytes} of ${folder.size} bytes`)
      zipMs.push(z.ms)
    }
    const app1 = perSec(SIZE, median(appMs))
    const bare1 = perSec(SIZE, median(bareMs))
    const zip1 = perSec(folder.size, median(zipMs))
    process.stdout.write(
      `${JSON.stringify(
        {
          bench: 'library',
          size: SIZE,
          rounds: ROUNDS,
          fileLink: {
            appMiBps: app1,
            bareMiBps: bare1,
            ratio: Math.round((app1 / bare1) * 100) / 100,
            appRssGrowthMiB: Math.round(rssGrowth * 10) / 10,
          },
          folderZip: {
            files: FILES,
            zipBytes: folder.size,
            appMiBps: zip1,
            bareSingleFileMiBps: bare1,
            ratio: Math.round((zip1 / bare1) * 100) / 100,
          },
          note: 'sparse files, loopback, medians of alternating rounds; bare = node http + fs.createReadStream in its own process',
        },
        null,
        2,
      )}\n`,
    )
  } finally {
    bare.stop()
    await app.stop()
    await oauth.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
