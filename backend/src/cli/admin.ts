/**
 * Operator commands, run on the server's machine with the server's environment:
 *
 *   pnpm admin:link          (or: node backend/dist/cli/admin.js link)
 *
 * prints a fresh one-time admin sign-in link (valid one hour), also while an admin already exists:
 * the way back in after the admin's session is lost (another browser, cleared cookies) when Google
 * sign-in is not set up. Earlier unused links stop working.
 *
 * With PostgreSQL it writes the link's hash to the database directly. With the embedded database it
 * asks the running server through DATA_DIR/admin.sock, or opens the database itself when no server
 * runs on that DATA_DIR.
 */
import { createConnection } from 'node:net'
import { adminLink } from '../auth/auth.service'
import { ConfigError, loadConfig, type Config } from '../config'
import { connectDb } from '../db/connect'
import { adminSocketPath } from '../ops/admin-socket'

const USAGE = `Usage: pnpm admin:link   (node backend/dist/cli/admin.js link)
  Prints a one-time admin sign-in link (valid 1 hour), even when an admin already exists.
`

type Link = { path: string; expiresAt: string }

/** The running server's answer, or null when no server listens on this DATA_DIR. */
function askServer(dataDir: string): Promise<Link | null> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(adminSocketPath(dataDir))
    let answer = ''
    socket.setTimeout(10_000, () => socket.destroy(new Error('the server did not answer within 10 s')))
    socket.on('connect', () => socket.write('link\n'))
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')))
    socket.on('end', () => {
      try {
        const parsed = JSON.parse(answer) as Partial<Link> & { error?: string }
        if (parsed.path && parsed.expiresAt) resolve({ path: parsed.path, expiresAt: parsed.expiresAt })
        else reject(new Error(parsed.error ?? 'the server gave no link'))
      } catch {
        reject(new Error('the server gave an answer that is not a link'))
      }
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') resolve(null)
      else reject(err)
    })
  })
}

async function makeLink(config: Config): Promise<Link> {
  if (config.database.kind === 'pglite') {
    const viaServer = await askServer(config.dataDir)
    if (viaServer) return viaServer
  }
  const db = await connectDb(config.database)
  try {
    const { path, expiresAt } = await adminLink({ db })
    return { path, expiresAt: expiresAt.toISOString() }
  } finally {
    await db.close()
  }
}

async function main(args: string[]): Promise<number> {
  if (args[0] !== 'link') {
    process.stderr.write(USAGE)
    return args[0] === undefined || args[0] === '--help' || args[0] === '-h' ? 0 : 2
  }
  let config: Config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      return 1
    }
    throw err
  }
  const { path, expiresAt } = await makeLink(config)
  const base = config.publicUrl ?? `http://localhost:${config.port}`
  const until = new Date(expiresAt).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
  process.stdout.write(`\n  Open this one-time link to sign in as admin (valid until ${until}; earlier unused links no longer work):\n\n  ${base}${path}\n\n`)
  return 0
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`admin:link failed: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  },
)
