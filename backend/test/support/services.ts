/**
 * Real services for integration tests, started on loopback: PostgreSQL (the distribution's
 * binaries), Redis (redis-server) and an S3-protocol server (s3rver). Each returns a handle that
 * can stop, pause (SIGSTOP) and resume the process, for outage tests.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 30_000) {
  const start = Date.now()
  while (Date.now() - start < timeoutMs) {
    if (await check().catch(() => false)) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${what} did not start within ${timeoutMs} ms`)
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket()
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
    s.connect(port, '127.0.0.1')
  })
}

export interface ServiceHandle {
  url: string
  port: number
  /** the running process' id */
  pid(): number
  /** SIGSTOP: the process hangs (connections time out) */
  pause(): void
  resume(): void
  /** stop the process and remove its data */
  stop(): Promise<void>
  /** stop the process, keeping its data (an outage); restart() brings it back */
  halt(): Promise<void>
  /** stop (if running), then start again on the same port and data */
  restart(): Promise<void>
}

function handle(start: () => ChildProcess, url: string, port: number, ready: () => Promise<void>, cleanup: () => void, stopSignal: NodeJS.Signals = 'SIGTERM'): ServiceHandle & { started: Promise<void> } {
  let proc = start()
  const stopProc = () =>
    new Promise<void>((resolve) => {
      // This process, not whatever `proc` is later: after restart() it names the new process.
      const current = proc
      if (current.exitCode !== null || current.signalCode !== null) return resolve()
      const kill = setTimeout(() => current.kill('SIGKILL'), 5000)
      kill.unref()
      current.once('exit', () => {
        clearTimeout(kill)
        resolve()
      })
      current.kill('SIGCONT')
      current.kill(stopSignal)
    })
  return {
    url,
    port,
    started: ready(),
    pid: () => proc.pid!,
    pause: () => void proc.kill('SIGSTOP'),
    resume: () => void proc.kill('SIGCONT'),
    async stop() {
      await stopProc()
      cleanup()
    },
    halt: () => stopProc(),
    async restart() {
      await stopProc()
      proc = start()
      await ready()
    },
  }
}

function pgBin(name: string): string {
  for (const dir of ['/usr/lib/postgresql']) {
    if (!existsSync(dir)) continue
    const versions = readdirSync(dir).sort((a, b) => Number(b) - Number(a))
    for (const v of versions) if (existsSync(join(dir, v, 'bin', name))) return join(dir, v, 'bin', name)
  }
  return name
}

/** A throwaway PostgreSQL cluster (as the `postgres` user when running as root). */
export async function startPostgres(): Promise<ServiceHandle & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sharesync-pg-'))
  chmodSync(dir, 0o777)
  const data = join(dir, 'data')
  // PostgreSQL refuses to run as root: run it as the `postgres` user (signals then reach it directly).
  const owner = process.getuid?.() === 0 ? { uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()) } : {}
  execFileSync(pgBin('initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], { stdio: 'ignore', cwd: dir, ...owner })
  const port = await freePort()
  const args = ['-D', data, '-p', String(port), '-k', dir, '-h', '127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200']
  // SIGINT is PostgreSQL's "fast" shutdown: it does not wait for idle clients to leave.
  const h = handle(() => spawn(pgBin('postgres'), args, { stdio: 'ignore', cwd: dir, ...owner }), `postgres://postgres@127.0.0.1:${port}/postgres`, port, () => waitFor(() => portOpen(port), 'postgres'), () => rmSync(dir, { recursive: true, force: true }), 'SIGINT')
  await h.started
  /** the cluster's data directory, to read what it stored as it is */
  return Object.assign(h, { dir: data })
}

/** Runs one SQL statement on a database (e.g. CHECKPOINT before reading the data directory). */
export async function runSql<T = Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
  const pg = (await import('pg')).default
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(sql)).rows as T[]
  } finally {
    await client.end().catch(() => undefined)
  }
}

/**
 * A fresh database in a running cluster, so test files stay isolated. PostgreSQL may accept
 * connections a moment before it accepts queries ("the database system is starting up", 57P03).
 */
export async function createDatabase(serverUrl: string, name: string): Promise<string> {
  const pg = (await import('pg')).default
  for (let attempt = 1; ; attempt++) {
    const client = new pg.Client({ connectionString: serverUrl })
    try {
      await client.connect()
      await client.query(`DROP DATABASE IF EXISTS "${name}"`)
      await client.query(`CREATE DATABASE "${name}"`)
      break
    } catch (err) {
      if (attempt >= 30 || (err as { code?: string }).code !== '57P03') throw err
      await new Promise((r) => setTimeout(r, 200))
    } finally {
      await client.end().catch(() => undefined)
    }
  }
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.toString()
}

export async function startRedis(): Promise<ServiceHandle> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'sharesync-redis-'))
  const h = handle(
    () => spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' }),
    `redis://127.0.0.1:${port}`,
    port,
    () => waitFor(() => portOpen(port), 'redis'),
    () => rmSync(dir, { recursive: true, force: true }),
  )
  await h.started
  return h
}

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

/** s3rver in its own process (so it can be stopped and paused like a real server). */
export async function startS3(bucket = 'sharesync'): Promise<ServiceHandle & { bucket: string; dir: string; env: Record<string, string> }> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'sharesync-s3-'))
  const script = new URL('./s3rver-process.mjs', import.meta.url).pathname
  const h = handle(
    () => spawn(process.execPath, [script, String(port), dir, bucket], { stdio: ['ignore', 'ignore', 'inherit'] }),
    `http://127.0.0.1:${port}`,
    port,
    () => waitFor(() => portOpen(port), 's3rver'),
    () => rmSync(dir, { recursive: true, force: true }),
  )
  await h.started
  return Object.assign(h, {
    bucket,
    /** s3rver's data directory (objects and multipart uploads), for consistency checks */
    dir,
    env: {
      STORAGE: 's3',
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_BUCKET: bucket,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    },
  })
}
