/** coturn (Debian's turnserver) on loopback with TURN REST credentials, as the app's TURN_SECRET expects. */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../backend/test/support/services'

export interface TurnServer {
  url: string
  secret: string
  output(): string
  stop(): Promise<void>
}

export async function startTurn(): Promise<TurnServer> {
  const port = await freePort()
  const secret = randomBytes(18).toString('base64url')
  const dir = mkdtempSync(join(tmpdir(), 'sharesync-turn-'))
  const relayFrom = 40_000 + Math.floor(Math.random() * 20_000)
  let log = ''
  const proc: ChildProcess = spawn(
    'turnserver',
    [
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${port}`,
      `--min-port=${relayFrom}`,
      `--max-port=${relayFrom + 200}`,
      '--use-auth-secret',
      `--static-auth-secret=${secret}`,
      '--realm=sharesync.test',
      '--allow-loopback-peers',
      '--fingerprint',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--no-tcp-relay',
      `--pidfile=${join(dir, 'turn.pid')}`,
      `--userdb=${join(dir, 'turndb')}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  proc.stdout!.on('data', (d: Buffer) => (log += d.toString()))
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()))
  const deadline = Date.now() + 15_000
  while (!(await answersStun(port))) {
    if (proc.exitCode !== null) throw new Error(`turnserver exited (${proc.exitCode}):\n${log}`)
    if (Date.now() > deadline) throw new Error(`turnserver did not start:\n${log}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url: `turn:127.0.0.1:${port}?transport=udp`,
    secret,
    output: () => log,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        await new Promise<void>((resolve) => {
          proc.once('exit', () => resolve())
          proc.kill('SIGTERM')
          setTimeout(() => proc.kill('SIGKILL'), 5000).unref()
        })
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A STUN binding request answered: the server is up. */
function answersStun(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4')
    const done = (ok: boolean) => {
      clearTimeout(timer)
      sock.close()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), 300)
    sock.on('message', (msg) => done(msg.length >= 20 && msg.readUInt16BE(0) === 0x0101))
    sock.on('error', () => done(false))
    const req = Buffer.alloc(20)
    req.writeUInt16BE(0x0001, 0)
    req.writeUInt32BE(0x2112a442, 4)
    randomBytes(12).copy(req, 8)
    sock.send(req, port, '127.0.0.1')
  })
}
