/**
 * The real server (src/main.ts, run by tsx) as a child process, so that a test can freeze it
 * (SIGSTOP), let it go on (SIGCONT) or kill it (SIGKILL) like an operator's instance.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { seedPgliteCluster } from './pglite-template'
import { freePort } from './services'

const BACKEND = new URL('../../', import.meta.url).pathname

export interface ServerProcess {
  url: string
  proc: ChildProcess
  output(): string
  pause(): void
  resume(): void
  kill(): Promise<void>
  stop(): Promise<void>
}

export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), 'sharesync-proc-'))
  if (!env.DATABASE_URL && !env.DATA_DIR) await seedPgliteCluster(join(dataDir, 'db'))
  let log = ''
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: BACKEND,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  proc.stdout!.on('data', (d: Buffer) => (log += d.toString()))
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited (${proc.exitCode}):\n${log}`)
    if (await fetch(`${url}/api/health`).then((r) => r.ok, () => false)) break
    if (Date.now() > deadline) throw new Error(`server did not become healthy:\n${log}`)
    await new Promise((r) => setTimeout(r, 200))
  }
  const exited = () => new Promise<void>((resolve) => (proc.exitCode !== null || proc.signalCode !== null ? resolve() : proc.once('exit', () => resolve())))
  const cleanup = () => rmSync(dataDir, { recursive: true, force: true })
  return {
    url,
    proc,
    output: () => log,
    pause: () => void proc.kill('SIGSTOP'),
    resume: () => void proc.kill('SIGCONT'),
    async kill() {
      proc.kill('SIGKILL')
      await exited()
      cleanup()
    },
    async stop() {
      proc.kill('SIGCONT')
      proc.kill('SIGTERM')
      const force = setTimeout(() => proc.kill('SIGKILL'), 10_000)
      await exited()
      clearTimeout(force)
      cleanup()
    },
  }
}

/** Resident memory of a process, from /proc: now, and the peak since `resetPeak` (Linux). */
export const rss = {
  async now(pid: number): Promise<number> {
    return field(pid, 'VmRSS')
  },
  async peak(pid: number): Promise<number> {
    return field(pid, 'VmHWM')
  },
  /** Starts a new peak measurement (writing 5 to clear_refs resets VmHWM to the current RSS). */
  async resetPeak(pid: number): Promise<void> {
    const { writeFile } = await import('node:fs/promises')
    await writeFile(`/proc/${pid}/clear_refs`, '5')
  },
}

async function field(pid: number, name: string): Promise<number> {
  const { readFile } = await import('node:fs/promises')
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(await readFile(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error(`${name} not found for process ${pid}`)
  return Number(m[1]) * 1024
}
