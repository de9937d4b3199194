// The baseline for the presign benchmark: the same express the app uses, one trivial JSON route,
// in its own node process like the app. Prints "listening <port>" once ready.
import { createRequire } from 'node:module'

const require = createRequire(new URL('../../backend/package.json', import.meta.url))
const express = require('express')

const app = express()
app.disable('x-powered-by')
app.get('/bare', (_req, res) => res.json({ ok: true }))
const server = app.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
