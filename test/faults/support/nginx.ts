/**
 * Debian's nginx in front of app instances, running the shipped deploy/nginx.conf: only the
 * upstream servers and the listen address are replaced; the test's own main config adds an access
 * log naming the upstream each request went to.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../../backend/test/support/services'

const SITE = new URL('../../../deploy/nginx.conf', import.meta.url)
export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p)) ?? 'nginx'

export interface Nginx {
  url: string
  port: number
  /** One line per request: "<method> <uri> <status> <upstream address>". */
  accessLog(): string[]
  stop(): Promise<void>
}

/** The shipped site config with these upstreams; `stripUpgrade` drops the WebSocket headers, as a misconfigured proxy would. */
export function siteConfig(upstreams: number[], listenPort: number, opts: { stripUpgrade?: boolean } = {}): string {
  let site = readFileSync(SITE, 'utf8')
  const servers = upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=3 fail_timeout=10s;`).join('\n')
  site = site.replace(/upstream sharesync \{[\s\S]*?\n\}/, (block) => block.replace(/( {4}server [^\n]*\n)+/, `${servers}\n`))
  site = site.replace(/^(\s*)listen 80;/m, `$1listen 127.0.0.1:${listenPort};`)
  if (opts.stripUpgrade) site = site.replace(/^\s*proxy_set_header (Upgrade|Connection) .*\n/gm, '')
  return site
}

export async function startNginx(upstreams: number[], opts: { stripUpgrade?: boolean } = {}): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'sharesync-nginx-'))
  // Workers run as an unprivileged user when nginx is started as root: they write temp files here.
  chmodSync(dir, 0o777)
  const port = await freePort()
  writeFileSync(join(dir, 'sharesync.conf'), siteConfig(upstreams, port, opts))
  const log = join(dir, 'access.log')
  const main = `
worker_processes 1;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 1024; }
http {
  log_format upstreams '$request_method $uri $status $upstream_addr';
  access_log ${log} upstreams;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/sharesync.conf;
}
`
  writeFileSync(join(dir, 'nginx.conf'), main)
  let output = ''
  const proc: ChildProcess = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] })
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()))
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 15_000
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nginx exited (${proc.exitCode}): ${output}`)
    if (await fetch(`${url}/api/health`).then(() => true, () => false)) break
    if (Date.now() > deadline) throw new Error(`nginx did not start: ${output}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url,
    port,
    accessLog: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        await new Promise<void>((resolve) => {
          proc.once('exit', () => resolve())
          proc.kill('SIGTERM')
        })
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
