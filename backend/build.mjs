// Bundles the backend (with @sharesync/protocol) into dist/main.js and the operator command
// dist/cli/admin.js; npm dependencies stay external.
import { cpSync, readFileSync, rmSync } from 'node:fs'
import { build } from 'esbuild'

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'))
const external = Object.keys(pkg.dependencies).filter((d) => d !== '@sharesync/protocol')

rmSync('dist', { recursive: true, force: true })
await build({
  // The embedded database's worker thread is its own entry: dist/pglite-worker.js, next to main.js.
  entryPoints: { main: 'src/main.ts', 'cli/admin': 'src/cli/admin.ts', 'pglite-worker': 'src/db/pglite-worker.ts' },
  outdir: 'dist',
  // Code behind a dynamic import (the S3 store and the AWS SDK) loads only when it is used.
  splitting: true,
  chunkNames: '[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  external,
  logLevel: 'warning',
})
cpSync('src/db/migrations', 'dist/migrations', { recursive: true })
