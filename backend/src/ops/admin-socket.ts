import { chmodSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import type { Deps } from '../deps'
import { adminLink } from '../auth/auth.service'

/**
 * The embedded database (PGlite) belongs to one process: while the server runs, the recovery
 * command (`pnpm admin:link`) cannot open it and asks the server instead, through a Unix socket in
 * DATA_DIR that only the server's user can open (mode 0600). Whoever can open it could read the
 * database files anyway. One request per connection: the line `link`; the answer is one JSON line.
 */
export const adminSocketPath = (dataDir: string) => join(dataDir, 'admin.sock')

export async function listenAdminSocket(deps: Pick<Deps, 'db' | 'logger'>, dataDir: string): Promise<Server> {
  const path = adminSocketPath(dataDir)
  // A socket left by a process that was killed would refuse the listen.
  rmSync(path, { force: true })
  const server = createServer((socket) => {
    socket.setTimeout(5000, () => socket.destroy())
    let line = ''
    socket.on('data', (chunk: Buffer) => {
      line += chunk.toString('utf8')
      if (line.length > 64) return socket.destroy()
      if (!line.includes('\n')) return
      if (line.trim() !== 'link') return socket.end(`${JSON.stringify({ error: 'unknown command' })}\n`)
      adminLink(deps).then(
        ({ path: link, expiresAt }) => {
          deps.logger.warn('a one-time admin sign-in link was made by the recovery command')
          socket.end(`${JSON.stringify({ path: link, expiresAt: expiresAt.toISOString() })}\n`)
        },
        (err: unknown) => {
          deps.logger.error({ err }, 'the recovery command could not make an admin link')
          socket.end(`${JSON.stringify({ error: 'the server could not make a link, see its log' })}\n`)
        },
      )
    })
    socket.on('error', () => undefined)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => resolve())
  })
  chmodSync(path, 0o600)
  return server
}
