/**
 * The operator's way back in: `pnpm admin:link` (src/cli/admin.ts, run here by tsx as the operator
 * would run the built file) prints a fresh one-time admin link while an admin already exists — on
 * the embedded database while the server runs (through its admin socket) and while it is stopped,
 * and on PostgreSQL. A used link sends a browser to a page that names the command.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Me } from '@sharesync/protocol'
import { afterAll, describe, expect, it } from 'vitest'
import { ensureAdminBootstrap } from '../src/auth/auth.service'
import { startTestServer, type TestServer } from './support/harness'
import { browserFetch, CookieJar } from './support/oauth'
import { createDatabase, startPostgres, type ServiceHandle } from './support/services'

const BACKEND = new URL('../', import.meta.url).pathname
const run = promisify(execFile)

/** Runs the recovery command with the server's settings and returns the link it printed. */
async function adminLinkCommand(env: Record<string, string>): Promise<{ url: string; stdout: string }> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/admin.ts', 'link'], {
    cwd: BACKEND,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env },
    timeout: 60_000,
  })
  const url = /https?:\/\/\S+\/api\/auth\/bootstrap\?token=[A-Za-z0-9_-]{43}/.exec(stdout)?.[0]
  if (!url) throw new Error(`no link printed:\n${stdout}`)
  return { url, stdout }
}

/** Opens a link as a browser would and says who it signed in. */
async function signInWith(server: TestServer, link: string): Promise<Me | number> {
  const jar = new CookieJar()
  const path = new URL(link).pathname + new URL(link).search
  const res = await browserFetch(jar, `${server.url}${path}`, { headers: { accept: 'text/html' } })
  if (res.headers.get('location') !== '/admin') return res.status
  return (await (await browserFetch(jar, `${server.url}/api/me`)).json()) as Me
}

/** An instance whose admin has signed in once with the bootstrap link (and lost that session). */
async function withAdmin(env: Record<string, string>): Promise<{ server: TestServer; firstLink: string }> {
  const server = await startTestServer(env)
  const firstLink = (await ensureAdminBootstrap(server.deps))!
  expect(await signInWith(server, `http://x${firstLink}`)).toMatchObject({ role: 'admin' })
  // A restart prints nothing now that an admin exists: before this command, that was a lock-out.
  expect(await ensureAdminBootstrap(server.deps)).toBeNull()
  return { server, firstLink }
}

describe('pnpm admin:link on the embedded database', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ss-rec-'))
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

  it('prints a working one-time admin link while the server runs and an admin exists; it works once', async () => {
    const { server, firstLink } = await withAdmin({ DATA_DIR: dataDir })
    try {
      const { url, stdout } = await adminLinkCommand({ DATA_DIR: dataDir, PORT: '8123' })
      expect(url.startsWith('http://localhost:8123/api/auth/bootstrap?token=')).toBe(true)
      expect(stdout).toMatch(/valid until/)
      expect(await signInWith(server, url)).toMatchObject({ email: 'admin@localhost', role: 'admin' })
      // Used once: a browser is sent to the page that names the command; an API client gets the code.
      expect(await signInWith(server, url)).toBe(302)
      const again = await browserFetch(new CookieJar(), `${server.url}${new URL(url).pathname}${new URL(url).search}`, { headers: { accept: 'text/html' }, redirect: 'manual' })
      expect(again.headers.get('location')).toBe('/admin/link-used')
      const api = await fetch(`${server.url}${new URL(url).pathname}${new URL(url).search}`, { redirect: 'manual' })
      expect(api.status).toBe(403)
      expect(await api.json()).toMatchObject({ error: { code: 'admin_link_used' } })
      expect(await signInWith(server, `http://x${firstLink}`)).toBe(302)
      const mangled = await fetch(`${server.url}/api/auth/bootstrap?token=short`, { headers: { accept: 'text/html' }, redirect: 'manual' })
      expect(mangled.headers.get('location')).toBe('/admin/link-used')
      expect((await fetch(`${server.url}/api/auth/bootstrap?token=short`, { redirect: 'manual' })).status).toBe(400)
    } finally {
      await server.close()
    }
    expect(existsSync(join(dataDir, 'admin.sock'))).toBe(false)
  })

  it('while the server is stopped, opens the database itself; the link works after the start; a newer link replaces it', async () => {
    const older = await adminLinkCommand({ DATA_DIR: dataDir })
    const newer = await adminLinkCommand({ DATA_DIR: dataDir })
    const server = await startTestServer({ DATA_DIR: dataDir })
    try {
      // Starting with an admin present must not revoke the operator's fresh link.
      expect(await ensureAdminBootstrap(server.deps)).toBeNull()
      expect(await signInWith(server, older.url)).toBe(302)
      expect(await signInWith(server, newer.url)).toMatchObject({ role: 'admin' })
    } finally {
      await server.close()
    }
  })

  it('an unknown command prints the usage and fails', async () => {
    const wrong = await run(process.execPath, ['--import', 'tsx', 'src/cli/admin.ts', 'reset'], { cwd: BACKEND }).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    )
    expect(wrong?.code).toBe(2)
    expect(wrong?.stderr).toMatch(/Usage: pnpm admin:link/)
  })
})

describe('pnpm admin:link on PostgreSQL', () => {
  let postgres: ServiceHandle | undefined
  afterAll(async () => postgres?.stop())

  it('prints a working link while an instance runs and an admin exists', async () => {
    postgres = await startPostgres()
    const env = { DATABASE_URL: await createDatabase(postgres.url, 'admin_recovery') }
    const { server } = await withAdmin(env)
    try {
      const { url } = await adminLinkCommand({ ...env, PUBLIC_URL: 'https://files.example.com' })
      expect(url.startsWith('https://files.example.com/api/auth/bootstrap?token=')).toBe(true)
      expect(await signInWith(server, url.replace('https://files.example.com', 'http://x'))).toMatchObject({ role: 'admin' })
    } finally {
      await server.close()
    }
  })
})
