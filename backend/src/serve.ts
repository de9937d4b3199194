import { networkInterfaces } from 'node:os'
import QRCode from 'qrcode'
import { ensureAdminBootstrap } from './auth/auth.service'
import { ConfigError, loadConfig } from './config'
import { createLogger } from './logger'
import { letYoungGenerationGrow } from './memory/young-generation'
import { startServer } from './server'

function lanUrls(port: number): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((i) => i && i.family === 'IPv4' && !i.internal)
    .map((i) => `http://${i!.address}:${port}`)
}

async function main() {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
  // The young generation is held small from the entry's first line (main.ts); a PostgreSQL
  // deployment serves many people at once and gets V8's own policy back.
  if (config.database.kind !== 'pglite') letYoungGenerationGrow()
  // In a terminal, per-request logs would bury the banner: warnings and errors only, unless
  // LOG_LEVEL asks for more. Under a supervisor (no TTY: Docker, systemd) logs stay at info.
  const interactive = Boolean(process.stdout.isTTY)
  const quiet = interactive && !config.logLevelGiven
  const logger = createLogger(quiet ? 'warn' : config.logLevel)
  const server = await startServer(config, { logger })
  logger.info({ port: server.port, db: config.database.kind, storage: config.storage.kind, redis: Boolean(config.redisUrl) }, 'listening')
  // No admin yet and no way for Google to make one: a one-time admin sign-in link (README "Admin bootstrap").
  const bootstrap = await ensureAdminBootstrap(server.deps)
  // info, not warn: in a terminal the banner below says it, and nothing should come after the banner.
  if (bootstrap) logger.info('no admin exists: a one-time admin sign-in link was printed to stdout')

  // The banner comes last, so that it is what a person sees in the terminal (pino writes
  // asynchronously: its lines so far go out first).
  await new Promise<void>((resolve) => logger.flush(() => resolve()))
  const urls = config.publicUrl ? [config.publicUrl] : config.host === '0.0.0.0' ? lanUrls(server.port) : []
  const local = `http://localhost:${server.port}`
  const lines = [``, `  ShareSync is running`, ``, `  Local:   ${local}`, ...urls.map((u) => `  Network: ${u}`), ``]
  process.stdout.write(lines.join('\n') + '\n')
  if (urls[0]) {
    process.stdout.write(`  Scan to open on a phone on the same network:\n`)
    process.stdout.write(await QRCode.toString(urls[0], { type: 'terminal', small: true }))
  }
  if (bootstrap) {
    process.stdout.write(`\n  No admin account exists yet. Open this one-time link (valid 24 h) to sign in as admin:\n\n  ${urls[0] ?? local}${bootstrap}\n\n`)
  }
  if (quiet) process.stdout.write(`  Request logs are hidden in a terminal (LOG_LEVEL=info shows them). Ctrl-C stops the server.\n\n`)

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down: finishing in-flight requests')
    const force = setTimeout(() => {
      logger.warn({ seconds: config.shutdownTimeoutMs / 1000 }, 'in-flight requests did not finish in time, exiting')
      process.exit(1)
    }, config.shutdownTimeoutMs)
    force.unref()
    server.close().then(
      () => {
        logger.info('stopped')
        process.exit(0)
      },
      (err: unknown) => {
        logger.error({ err }, 'error during shutdown')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'))
}

main().catch((err: unknown) => {
  process.stderr.write(`ShareSync failed to start: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
