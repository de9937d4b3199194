// Bundles the CLI with the workspace's @sharesync/crypto and @sharesync/protocol into one file,
// dist/sharesync.js, so the published package needs only its npm dependencies.
import { chmodSync, readFileSync, rmSync } from 'node:fs'
import { build } from 'esbuild'

// Paths below are the package's own, wherever this is run from.
const here = new URL('.', import.meta.url).pathname
process.chdir(here)
const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'))
rmSync('dist', { recursive: true, force: true })
await build({
  absWorkingDir: here,
  entryPoints: { sharesync: 'src/main.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: Object.keys(pkg.dependencies),
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
})
chmodSync('dist/sharesync.js', 0o755)
