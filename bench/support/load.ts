import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface LoadResult {
  requestsPerSec: number
  p50Ms: number
  p99Ms: number
  requests: number
  non2xx: number
  errors: number
  timeouts: number
}

interface AutocannonJson {
  requests: { average: number; total: number }
  latency: { p50: number; p99: number }
  non2xx: number
  errors: number
  timeouts: number
}

/** autocannon in its own process (its CLI with --json), so the bench process adds no load of its own. */
export async function autocannon(url: string, opts: { connections: number; seconds: number; method?: string; body?: string; headers?: Record<string, string> }): Promise<LoadResult> {
  const args = [join(ROOT, 'node_modules/autocannon/autocannon.js'), '--json', '--no-progress', '-c', String(opts.connections), '-d', String(opts.seconds)]
  if (opts.method) args.push('-m', opts.method)
  if (opts.body !== undefined) args.push('-b', opts.body)
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}=${v}`)
  args.push(url)
  const out = await run(process.execPath, args)
  const r = JSON.parse(out) as AutocannonJson
  return {
    requestsPerSec: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  }
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${err}`))))
  })
}

export interface BareServer {
  url: string
  proc: ChildProcess
  stop(): Promise<void>
}

/** A baseline server (support/bare-server.mjs: one express route, by default) in its own node process. */
export function startBareServer(file = './bare-server.mjs'): Promise<BareServer> {
  const script = fileURLToPath(new URL(file, import.meta.url))
  const proc = spawn(process.execPath, [script, '0'], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    proc.once('error', reject)
    proc.once('exit', (code) => reject(new Error(`bare server exited ${code}`)))
    proc.stdout!.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString())
      if (!m) return
      resolve({
        url: `http://127.0.0.1:${m[1]}`,
        proc,
        stop: () =>
          new Promise<void>((done) => {
            proc.removeAllListeners('exit')
            if (proc.exitCode !== null) return done()
            proc.once('exit', () => done())
            proc.kill('SIGTERM')
          }),
      })
    })
  })
}
