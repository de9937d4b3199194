// The baseline for the library benchmark: node's http serving one file with fs.createReadStream, in
// its own process like the app, with no checks, no database and no monitor. Prints "listening <port>".
import { createReadStream, statSync } from 'node:fs'
import { createServer } from 'node:http'
import { pipeline } from 'node:stream'

const file = process.argv[2]
const server = createServer((_req, res) => {
  res.setHeader('content-length', String(statSync(file).size))
  pipeline(createReadStream(file), res, () => undefined)
})
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`))
process.on('SIGTERM', () => server.close(() => process.exit(0)))
