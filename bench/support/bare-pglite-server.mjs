// The baseline for the embedded-database benchmark: PGlite on the event loop of a plain node:http
// server (as the app ran it before the worker thread), with a route doing a few statements of
// database work per request, a static file and a liveness route. Prints "listening <port>" once ready.
import { createServer } from 'node:http'
import { createRequire } from 'node:module'

const require = createRequire(new URL('../../backend/package.json', import.meta.url))
const { PGlite } = await import(require.resolve('@electric-sql/pglite'))

const startParams = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB', '-c', 'work_mem=2MB']
const db = await PGlite.create('memory://', { startParams })
await db.exec(`CREATE TABLE shares (id text PRIMARY KEY, downloads int NOT NULL DEFAULT 0, max_downloads int);
  CREATE TABLE events (id serial PRIMARY KEY, share_id text NOT NULL, at timestamptz NOT NULL DEFAULT now());
  INSERT INTO shares (id) VALUES ('s');`)
const page = Buffer.alloc(2048, 'x')

const server = createServer((req, res) => {
  if (req.url === '/static') return res.writeHead(200, { 'content-type': 'text/plain' }).end(page)
  if (req.url === '/health') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')
  if (req.url === '/write' && req.method === 'POST') {
    req.resume()
    // What a download issuance does: read the share, count the download, record the event.
    db.transaction(async (tx) => {
      await tx.query('SELECT * FROM shares WHERE id = $1 FOR UPDATE', ['s'])
      await tx.query('UPDATE shares SET downloads = downloads + 1 WHERE id = $1', ['s'])
      await tx.query('INSERT INTO events (share_id) VALUES ($1)', ['s'])
    }).then(
      () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
      () => res.writeHead(500).end(),
    )
    return
  }
  res.writeHead(404).end()
})
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`)
})
process.on('SIGTERM', () => server.close(() => db.close().then(() => process.exit(0))))
