/**
 * The deployments the fault suite breaks: the scale-out stack (PostgreSQL + Redis + s3rver and N app
 * instances, each a child process running backend/dist/main.js) and the embedded default.
 */
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { createDatabase, startPostgres, startRedis, startS3, type ServiceHandle } from '../../../backend/test/support/services'
import { startApp, type AppProcess } from '../../support/app-server'

export type S3Handle = Awaited<ReturnType<typeof startS3>>

/** Short timeouts and generous rate limits: outages in tests last seconds, and load must not hit 429. */
export const FAULT_ENV: Record<string, string> = {
  LOG_LEVEL: 'warn',
  DATABASE_TIMEOUT: '2s',
  DATABASE_STATEMENT_TIMEOUT: '5s',
  UPLOAD_RATE_LIMIT: '100000/1h',
  DOWNLOAD_RATE_LIMIT: '100000/1m',
  PART_SIGN_RATE_LIMIT: '100000/1m',
  ROOM_JOIN_RATE_LIMIT: '10000/1m',
  ROOM_CREATE_RATE_LIMIT: '10000/1h',
  PART_SIZE: '5MiB',
  ROOM_HEARTBEAT: '1s',
}

export interface Cluster {
  pg: ServiceHandle
  redis: ServiceHandle | null
  s3: S3Handle
  dbUrl: string
  apps: AppProcess[]
  /** The environment every instance runs with (extra variables per call are merged in). */
  env: Record<string, string>
  /** Starts instance i again after a crash (same port), or a new one when i is past the end. */
  startInstance(i: number, extra?: Record<string, string>): Promise<AppProcess>
  stop(): Promise<void>
}

export async function startCluster(opts: { instances?: number; redis?: boolean; env?: Record<string, string> } = {}): Promise<Cluster> {
  const [pg, redis, s3] = await Promise.all([startPostgres(), opts.redis === false ? null : startRedis(), startS3()])
  const dbUrl = await createDatabase(pg.url, 'faults')
  const env = {
    ...FAULT_ENV,
    ...s3.env,
    DATABASE_URL: dbUrl,
    SESSION_SECRET: randomBytes(32).toString('hex'),
    ...(redis ? { REDIS_URL: redis.url } : {}),
    ...opts.env,
  }
  const apps: AppProcess[] = []
  const startInstance = async (i: number, extra: Record<string, string> = {}) => {
    const previous = apps[i]
    const app = await startApp({ ...env, ...extra }, previous ? { port: previous.port } : {})
    apps[i] = app
    return app
  }
  // One after the other: the first runs the migrations.
  for (let i = 0; i < (opts.instances ?? 2); i++) await startInstance(i)
  return {
    pg,
    redis,
    s3,
    dbUrl,
    apps,
    env,
    startInstance,
    async stop() {
      await Promise.all(apps.map((a) => a.stop()))
      await Promise.all([pg.stop(), redis?.stop(), s3.stop()])
    },
  }
}

/** Alive: the process has neither exited nor been killed. */
export const alive = (app: AppProcess) => app.proc.exitCode === null && app.proc.signalCode === null

/** The process and all its descendants (PostgreSQL serves each connection from a child process). */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // exited meanwhile
    }
    // "pid (comm) state ppid …": comm may hold spaces, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
  }
  const out: number[] = []
  const visit = (p: number) => {
    out.push(p)
    for (const c of children.get(p) ?? []) visit(c)
  }
  visit(pid)
  return out
}

const signal = (pid: number, sig: NodeJS.Signals) => {
  try {
    process.kill(pid, sig)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err // it exited meanwhile
  }
}

/**
 * SIGSTOP / SIGCONT to a service and every process it started: the whole server hangs, as a frozen
 * VM would. The parent stops first, so it forks nothing new while its children are stopped.
 */
export function freeze(service: ServiceHandle): void {
  signal(service.pid(), 'SIGSTOP')
  for (const pid of processTree(service.pid())) signal(pid, 'SIGSTOP')
}
export function thaw(service: ServiceHandle): void {
  for (const pid of processTree(service.pid()).reverse()) signal(pid, 'SIGCONT')
}
