// The baseline for the streamed-upload benchmark: node's http writing a PUT body to a file with
// fs.createWriteStream and serving it back with fs.createReadStream, in its own process like the
// app, with no checks, no database and no storage layer. Prints "listening <port>".
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream'

const dir = mkdtempSync(join(tmpdir(), 'sharesync-bare-upload-'))
const file = join(dir, 'upload.bin')
const server = createServer((req, res) => {
  if (req.method === 'PUT') {
    pipeline(req, createWriteStream(file), (err) => {
      res.statusCode = err ? 500 : 201
      res.end(JSON.stringify({ size: err ? 0 : statSync(file).size }))
    })
    return
  }
  res.setHeader('content-length', String(statSync(file).size))
  pipeline(createReadStream(file), res, () => undefined)
})
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`))
process.on('SIGTERM', () =>
  server.close(() => {
    rmSync(dir, { recursive: true, force: true })
    process.exit(0)
  }),
)
