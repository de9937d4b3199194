/** Runs the built server (backend/dist/main.js) as a child process, as `pnpm start` would. */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { seedPgliteCluster } from '../../backend/test/support/pglite-template'
import { freePort } from '../../backend/test/support/services'

const ROOT = new URL('../../', import.meta.url).pathname

export interface AppProcess {
  url: string
  port: number
  dataDir: string
  proc: ChildProcess
  output: () => string
  stop(): Promise<void>
  /** SIGKILL, as a crash or a pulled plug would: no graceful shutdown, open connections just drop. */
  kill(): Promise<void>
}

/**
 * Starts the built server. `port` pins the port (to restart a server in place: same DATA_DIR, same
 * URL, as after a crash); a given DATA_DIR is left on disk by stop().
 */
export async function startApp(
  env: Record<string, string> = {},
  opts: { port?: number; /** another build's main.js (a benchmark's "before") */ main?: string; nodeArgs?: string[] } = {},
): Promise<AppProcess> {
  const port = opts.port ?? (await freePort())
  const dataDir = env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'sharesync-e2e-'))
  // The embedded database starts from a copy of a migrated cluster instead of running initdb and the migrations.
  if (!env.DATABASE_URL) await seedPgliteCluster(join(dataDir, 'db'))
  let log = ''
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.main ?? join(ROOT, 'backend/dist/main.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  proc.stdout!.on('data', (d: Buffer) => (log += d.toString()))
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited (${proc.exitCode}):\n${log}`)
    const ok = await fetch(`${url}/api/health`).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) break
    if (Date.now() > deadline) throw new Error(`server did not become healthy:\n${log}`)
    await new Promise((r) => setTimeout(r, 200))
  }
  return {
    url,
    port,
    dataDir,
    proc,
    output: () => log,
    async kill() {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      await new Promise<void>((resolve) => {
        proc.once('exit', () => resolve())
        proc.kill('SIGKILL')
      })
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        await new Promise<void>((resolve) => {
          proc.once('exit', () => resolve())
          proc.kill('SIGTERM')
          setTimeout(() => proc.kill('SIGKILL'), 10_000).unref()
        })
      }
      if (!env.DATA_DIR) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
