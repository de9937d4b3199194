// `pnpm start`: installs and builds only when something changed, then runs the server in the
// foreground and hands it Ctrl-C, so that stopping it is a clean exit (code 0) rather than a failure.
//
// What changed is told by stamps: a hash of the lockfile and package manifests (install) and of
// every source file the build reads (build), kept in node_modules/.sharesync-install and
// backend/dist/.build-stamp. SHARESYNC_REBUILD=1 forces both.
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const PACKAGES = ['protocol', 'backend', 'frontend', 'crypto']
const SKIP = new Set(['node_modules', 'dist', '.git', 'data', 'test', 'screenshots'])

function walk(dir, out) {
  if (!existsSync(dir)) return out
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) walk(path, out)
    else if (entry.isFile() && !/\.test\.tsx?$/.test(entry.name)) out.push(path)
  }
  return out
}

function hash(files) {
  const h = createHash('sha256')
  for (const file of files.sort()) {
    h.update(relative(root, file))
    h.update('\0')
    h.update(readFileSync(file))
    h.update('\0')
  }
  return h.digest('hex')
}

const manifests = ['pnpm-lock.yaml', 'package.json', 'pnpm-workspace.yaml', ...PACKAGES.map((p) => `${p}/package.json`)].map((f) => join(root, f)).filter((f) => existsSync(f))
const sources = PACKAGES.flatMap((p) => walk(join(root, p), [])).filter((f) => statSync(f).size < 4_000_000)

const force = process.env.SHARESYNC_REBUILD === '1'
const installStamp = join(root, 'node_modules', '.sharesync-install')
const buildStamp = join(root, 'backend', 'dist', '.build-stamp')
const read = (file) => (existsSync(file) ? readFileSync(file, 'utf8') : '')

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) process.exit(result.status ?? 1)
}

// `pnpm build` ends with `node scripts/start.mjs --stamp`: what it just built is up to date.
if (process.argv.includes('--stamp')) {
  writeFileSync(buildStamp, hash([...manifests, ...sources]))
  process.exit(0)
}

const installHash = hash(manifests)
if (force || read(installStamp) !== installHash) {
  run('pnpm', ['install', '--frozen-lockfile', '--prefer-offline'])
  writeFileSync(installStamp, installHash)
}
if (force || read(buildStamp) !== hash([...manifests, ...sources]) || !existsSync(join(root, 'frontend', 'dist', 'index.html'))) {
  run('pnpm', ['build'])
}

// The terminal sends Ctrl-C to the whole foreground group: the server gets it too and shuts down
// gracefully; this process only waits for it and ends with its code (0 after a clean stop).
const server = spawn(process.execPath, [join(root, 'backend', 'dist', 'main.js')], { cwd: root, stdio: 'inherit' })
let stopping = false
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    // A signal sent to this process alone (not from the terminal) is passed on.
    if (!stopping) server.kill(signal)
    stopping = true
  })
}
server.on('exit', (code, signal) => process.exit(code ?? (signal && stopping ? 0 : 1)))
