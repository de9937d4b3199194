/**
 * `pnpm start` as an operator runs it: after `pnpm build` (which stamps what it built) a start neither
 * installs nor builds again; the banner (addresses, admin link) is the last thing printed; Ctrl-C to
 * the terminal's process group stops it with exit code 0 and no "ELIFECYCLE Command failed". In a
 * terminal (a pty from `script`), per-request logs are hidden unless LOG_LEVEL asks for them.
 * The time to a healthy server of the second start is printed (not asserted: the machine is shared).
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../backend/test/support/services'

const ROOT = new URL('../', import.meta.url).pathname
const dataDir = mkdtempSync(join(tmpdir(), 'ss-start-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

interface Started {
  output: () => string
  healthyAfterMs: number
  /** Ctrl-C as a terminal sends it: SIGINT to the whole process group */
  ctrlC(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

async function pnpmStart(env: Record<string, string> = {}, command: string[] = ['pnpm', 'start']): Promise<Started> {
  const port = await freePort()
  const started = Date.now()
  let log = ''
  const proc = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    detached: true,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  proc.stdout!.on('data', (d: Buffer) => (log += d.toString()))
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })))
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`pnpm start exited (${proc.exitCode}):\n${log}`)
    if (await fetch(`http://127.0.0.1:${port}/api/health`).then((r) => r.ok, () => false)) break
    if (Date.now() - started > 150_000) throw new Error(`no healthy server:\n${log}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  const healthyAfterMs = Date.now() - started
  // The admin link is printed after health answers: wait for the end of the banner.
  await expect.poll(() => /bootstrap\?token=|Request logs are hidden/.test(log), { timeout: 20_000 }).toBe(true)
  await fetch(`http://127.0.0.1:${port}/api/config`)
  return {
    output: () => log,
    healthyAfterMs,
    async ctrlC() {
      process.kill(-proc.pid!, 'SIGINT')
      return exited
    },
  }
}

describe('pnpm start', () => {
  it('after a build, starts without installing or building, prints the banner last, and Ctrl-C exits 0 without ELIFECYCLE', async () => {
    // The install stamp may be missing on a fresh clone (CI installs by itself): the first start makes it.
    const first = await pnpmStart()
    await first.ctrlC()
    await expect.poll(() => first.output()).toMatch(/"msg":"stopped"/)

    const second = await pnpmStart()
    const out = second.output()
    // The script is exec'd (no shell in between to die of the signal): pnpm sees the start
    // script's own exit code, 0 after the server's clean stop.
    expect(await second.ctrlC()).toEqual({ code: 0, signal: null })
    const final = second.output()
    process.stdout.write(`${JSON.stringify({ figure: 'second pnpm start, spawn to healthy', ms: second.healthyAfterMs })}\n`)
    expect(out).not.toMatch(/Lockfile is up to date|vite v\d|building for production|Packages: \+/)
    expect(final).not.toMatch(/ELIFECYCLE|Command failed/)
    expect(final).toMatch(/"msg":"stopped"/)
    // Not a terminal: logs at info. The banner comes after the startup logs, the admin link last.
    const listening = out.indexOf('"msg":"listening"')
    const banner = out.indexOf('ShareSync is running')
    const adminLink = out.search(/\/api\/auth\/bootstrap\?token=/)
    expect(listening).toBeGreaterThanOrEqual(0)
    expect(banner).toBeGreaterThan(listening)
    expect(adminLink).toBeGreaterThan(banner)
  })

  it('in a terminal, request logs stay hidden unless LOG_LEVEL asks for them, and Ctrl-C ends the start script with code 0', async (ctx) => {
    if (spawnSync('script', ['--version']).status !== 0) return ctx.skip('util-linux script is not installed')
    const quiet = await pnpmStart({}, ['script', '-qefc', 'node scripts/start.mjs', '/dev/null'])
    // `script -e` ends with the code of the command: the start script exits 0 after Ctrl-C.
    expect(await quiet.ctrlC()).toEqual({ code: 0, signal: null })
    expect(quiet.output()).toMatch(/Request logs are hidden in a terminal/)
    expect(quiet.output()).not.toMatch(/"msg":"request completed"|"req":\{/)
    // Nothing is printed after the banner but its closing hint until Ctrl-C.
    const shown = quiet.output().slice(quiet.output().indexOf('ShareSync is running'), quiet.output().indexOf('Request logs are hidden'))
    expect(shown).toMatch(/bootstrap\?token=/)
    expect(shown).not.toMatch(/"level":/)
    const asked = await pnpmStart({ LOG_LEVEL: 'info' }, ['script', '-qefc', 'node scripts/start.mjs', '/dev/null'])
    await asked.ctrlC()
    expect(asked.output()).toMatch(/"msg":"listening"/)
    expect(asked.output()).not.toMatch(/Request logs are hidden/)
  })
})
