/**
 * The embedded database (PGlite, PostgreSQL compiled to WASM) in its own thread: its CPU work
 * (parsing, planning, executing, WAL) then never blocks the HTTP event loop. The main thread
 * talks to it with the messages below (pglite-client.ts); transactions are held open here across
 * messages, and PGlite runs everything else after them, one statement at a time.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { PGlite, type Transaction } from '@electric-sql/pglite'

export interface WorkerInit {
  dir: string
  /** PostgreSQL settings added to PGlite's defaults, e.g. ['-c', 'shared_buffers=16MB'] */
  settings: string[]
}

export type WorkerRequest =
  | { id: number; op: 'query'; sql: string; params?: unknown[]; tx?: number }
  | { id: number; op: 'begin' }
  | { id: number; op: 'end'; tx: number; commit: boolean }
  | { id: number; op: 'close' }

/** A PostgreSQL error crossing the thread boundary: its message and fields (code, constraint, …). */
export interface WorkerError {
  message: string
  fields: Record<string, string | number>
}

export type WorkerReply = { id: number; ok: true; rows?: unknown[]; tx?: number } | { id: number; ok: false; error: WorkerError }
export type WorkerEvent = { ready: true } | { ready: false; error: WorkerError }

const INT8 = 20
// Counts and sizes are bigint columns; every value this app stores fits in 2^53.
const toNumber = (v: string) => Number(v)

function serialize(err: unknown): WorkerError {
  const e = err instanceof Error ? err : new Error(String(err))
  const fields: Record<string, string | number> = {}
  for (const [k, v] of Object.entries(e)) if (typeof v === 'string' || typeof v === 'number') fields[k] = v
  return { message: e.message, fields }
}

interface OpenTx {
  q: Transaction
  end(commit: boolean): void
  done: Promise<void>
}

async function serve(port: NonNullable<typeof parentPort>, init: WorkerInit) {
  let lite: PGlite
  try {
    lite = await PGlite.create(init.dir, { parsers: { [INT8]: toNumber }, startParams: [...PGlite.defaultStartParams, ...init.settings] })
  } catch (err) {
    port.postMessage({ ready: false, error: serialize(err) } satisfies WorkerEvent)
    return
  }
  const txs = new Map<number, OpenTx>()
  let nextTx = 1

  const begin = async (): Promise<number> => {
    const tx = nextTx++
    let started!: (q: Transaction) => void
    const opened = new Promise<Transaction>((resolve) => (started = resolve))
    let end!: (commit: boolean) => void
    const ended = new Promise<boolean>((resolve) => (end = resolve))
    const done = lite
      .transaction(async (q) => {
        started(q)
        if (!(await ended)) await q.rollback()
      })
      .finally(() => txs.delete(tx))
    // BEGIN may fail (the database is closing): then `done` rejects before the transaction opens.
    const q = await Promise.race([opened, done.then(() => Promise.reject(new Error('transaction did not start')))])
    txs.set(tx, { q, end, done })
    return tx
  }

  const handle = async (req: WorkerRequest): Promise<WorkerReply> => {
    switch (req.op) {
      case 'query': {
        const runner = req.tx === undefined ? lite : txs.get(req.tx)?.q
        if (!runner) throw new Error('Transaction is closed')
        return { id: req.id, ok: true, rows: (await runner.query(req.sql, req.params)).rows }
      }
      case 'begin':
        return { id: req.id, ok: true, tx: await begin() }
      case 'end': {
        const open = txs.get(req.tx)
        if (!open) throw new Error('Transaction is closed')
        open.end(req.commit)
        await open.done
        return { id: req.id, ok: true }
      }
      case 'close':
        await lite.close()
        return { id: req.id, ok: true }
    }
  }

  port.on('message', (req: WorkerRequest) => {
    handle(req).then(
      (reply) => port.postMessage(reply),
      (err: unknown) => port.postMessage({ id: req.id, ok: false, error: serialize(err) } satisfies WorkerReply),
    )
  })
  port.postMessage({ ready: true } satisfies WorkerEvent)
}

if (parentPort) void serve(parentPort, workerData as WorkerInit)
