/** Starts the real ShareSync server on a random loopback port with a given environment. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino, type Logger } from 'pino'
import { loadConfig } from '../../src/config'
import { startServer, type RunningServer } from '../../src/server'
import { seedPgliteCluster } from './pglite-template'

export interface TestServer extends RunningServer {
  dataDir: string
  /** fetch relative to the server url */
  fetch(path: string, init?: RequestInit): Promise<Response>
}

export async function startTestServer(env: Record<string, string> = {}, opts: { janitor?: boolean; logger?: Logger } = {}): Promise<TestServer> {
  const dataDir = env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'sharesync-test-'))
  const config = loadConfig({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', DATA_DIR: dataDir, ...env })
  if (config.database.kind === 'pglite') await seedPgliteCluster(config.database.dir)
  const server = await startServer(config, { logger: opts.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), janitor: opts.janitor ?? false })
  const closeServer = server.close.bind(server)
  return Object.assign(server, {
    dataDir,
    fetch: (path: string, init?: RequestInit) => fetch(new URL(path, server.url), init),
    close: async () => {
      await closeServer()
      if (!env.DATA_DIR) rmSync(dataDir, { recursive: true, force: true })
    },
  })
}
