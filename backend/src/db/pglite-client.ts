import { createHash, randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Worker, type ResourceLimits } from 'node:worker_threads'
import type { Logger } from 'pino'
import { AppError } from '../http/app-error'
import { holdAgainAfterWorkerStart } from '../memory/young-generation'
import type { Db, Queryable } from './db'
import type { WorkerError, WorkerEvent, WorkerInit, WorkerReply, WorkerRequest } from './pglite-worker'

type Pending = { resolve: (reply: Extract<WorkerReply, { ok: true }>) => void; reject: (err: Error) => void }
type Call = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never

/**
 * In the built server the worker is dist/pglite-worker.js next to the bundle; from the sources
 * (tests, `pnpm dev`) it is the .ts file, transpiled once per process (below).
 */
function spawnWorker(init: WorkerInit, resourceLimits: ResourceLimits): Worker {
  const fromSource = import.meta.url.endsWith('.ts')
  const url = fromSource ? transpiledWorker() : new URL('./pglite-worker.js', import.meta.url)
  const worker = new Worker(url, { workerData: init, resourceLimits })
  // Configuring the worker's heap resets V8's young-generation growth for this isolate too.
  worker.once('online', holdAgainAfterWorkerStart)
  return worker
}

let transpiled: URL | undefined

/**
 * The worker's TypeScript as JavaScript, written once per process (per version of the file) into
 * node_modules/.cache, where its one package import resolves as it does from here. A worker that
 * loaded the .ts through a TypeScript loader would start that loader, and its own hooks thread,
 * every time a database is opened: about half a second of CPU each, on every test server's start.
 */
function transpiledWorker(): URL {
  if (transpiled) return transpiled
  const require = createRequire(import.meta.url)
  const { transformSync } = require('esbuild') as typeof import('esbuild')
  const source = readFileSync(new URL('./pglite-worker.ts', import.meta.url), 'utf8')
  const { code } = transformSync(source, { loader: 'ts', format: 'esm', target: 'node20' })
  const dir = new URL('../../node_modules/.cache/sharesync/', import.meta.url)
  const file = new URL(`pglite-worker-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`, dir)
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true })
    // Processes (or threads) starting at once may each write it: each writes its own file, then
    // renames it into place over any other's (the same bytes).
    const partial = new URL(`${file.pathname.split('/').pop()}.${randomUUID()}.tmp`, dir)
    writeFileSync(partial, code)
    renameSync(partial, file)
  }
  return (transpiled = file)
}

const unavailable = (why: string) => new AppError('database_unavailable', `The database is unavailable (${why}), please try again shortly.`, { retryAfter: 2 })

function revive(error: WorkerError): Error {
  return Object.assign(new Error(error.message), error.fields)
}

/**
 * PGlite in a worker thread, behind the same Db interface as PostgreSQL. Statements and
 * transactions are messages; a worker that dies (out of memory, a WASM trap) fails what was in
 * flight with 503 database_unavailable and is started again on the next statement.
 */
export class PgliteWorkerDb implements Db {
  readonly kind = 'pglite' as const
  private worker: Promise<Worker> | null = null
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private closed = false

  constructor(
    private readonly init: WorkerInit,
    private readonly logger?: Logger,
  ) {}

  /** Starts the worker and waits until the database is open. */
  open(): Promise<Worker> {
    this.worker ??= new Promise<Worker>((resolve, reject) => {
      // A small young generation: the worker only shuttles rows, and every MiB of it is resident.
      const worker = spawnWorker(this.init, { maxYoungGenerationSizeMb: 8 })
      worker.once('message', (event: WorkerEvent) => {
        if (event.ready) {
          worker.on('message', (reply: WorkerReply) => this.settle(reply))
          resolve(worker)
        } else {
          reject(revive(event.error))
          void worker.terminate()
        }
      })
      worker.on('error', (err) => {
        this.logger?.error({ err }, 'embedded database worker failed')
        reject(err)
      })
      worker.on('exit', (code) => {
        this.worker = null
        for (const p of this.pending.values()) p.reject(unavailable('the embedded database stopped'))
        this.pending.clear()
        if (!this.closed) this.logger?.error({ code }, 'embedded database worker exited; it starts again with the next statement')
        reject(new Error(`the embedded database worker exited (${code})`))
      })
    })
    return this.worker
  }

  private settle(reply: WorkerReply) {
    const p = this.pending.get(reply.id)
    if (!p) return
    this.pending.delete(reply.id)
    if (reply.ok) p.resolve(reply)
    else p.reject(revive(reply.error))
  }

  private async call(req: Call): Promise<Extract<WorkerReply, { ok: true }>> {
    if (this.closed) throw unavailable('closed')
    const worker = await this.open().catch((err: unknown) => {
      throw err instanceof AppError ? err : unavailable('it could not be opened')
    })
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      worker.postMessage({ ...req, id })
    })
  }

  async query<T>(sql: string, params?: unknown[]): Promise<T[]> {
    return (await this.call({ op: 'query', sql, params })).rows as T[]
  }

  async tx<T>(work: (q: Queryable) => Promise<T>): Promise<T> {
    const { tx } = await this.call({ op: 'begin' })
    const q: Queryable = { query: async <R>(sql: string, params?: unknown[]) => (await this.call({ op: 'query', sql, params, tx })).rows as R[] }
    let result: T
    try {
      result = await work(q)
    } catch (err) {
      await this.call({ op: 'end', tx: tx!, commit: false }).catch(() => undefined)
      throw err
    }
    await this.call({ op: 'end', tx: tx!, commit: true })
    return result
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1')
  }

  async close(): Promise<void> {
    if (this.closed) return
    const worker = this.worker ? await this.worker.catch(() => null) : null
    if (worker) await this.call({ op: 'close' }).catch(() => undefined)
    this.closed = true
    await worker?.terminate()
  }
}
