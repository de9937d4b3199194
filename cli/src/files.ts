import { createHash } from 'node:crypto'
import { createWriteStream, rmSync } from 'node:fs'
import { lstat, mkdtemp, readdir, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join, relative, resolve, sep } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CliError, EXIT } from './exit-codes'

/** A file to send: where it is here, and its name and folder inside the share. */
export interface LocalFile {
  abs: string
  name: string
  /** the folder inside the share (`photos/2024`), '' at the top */
  path: string
  size: number
  mtimeMs: number
  type: string
  /** standard input: the SHA-256 of its bytes (what identifies it for resuming, instead of a path and date) */
  contentHash?: string
}

const TYPES: Record<string, string> = {
  txt: 'text/plain', md: 'text/markdown', html: 'text/html', json: 'application/json', pdf: 'application/pdf',
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', svg: 'image/svg+xml',
  mp4: 'video/mp4', webm: 'video/webm', mp3: 'audio/mpeg', zip: 'application/zip', gz: 'application/gzip', tar: 'application/x-tar',
}
const typeOf = (name: string) => TYPES[name.split('.').pop()?.toLowerCase() ?? ''] ?? 'application/octet-stream'

/**
 * The files named on the command line. A folder becomes its files, each keeping its folder inside the
 * share (`sharesync send photos` → `photos/2024/a.jpg`), so one share holds the whole tree and
 * recipients get it back as it was (or as one zip from the web page). Symbolic links are skipped.
 */
export async function collectFiles(args: string[]): Promise<LocalFile[]> {
  const out: LocalFile[] = []
  for (const arg of args) {
    const abs = resolve(arg)
    const st = await stat(abs).catch(() => null)
    if (!st) throw new CliError(EXIT.usage, `No such file or folder: ${arg}`)
    if (st.isFile()) {
      out.push({ abs, name: basename(abs), path: '', size: st.size, mtimeMs: st.mtimeMs, type: typeOf(abs) })
    } else if (st.isDirectory()) {
      const root = resolve(abs, '..')
      for await (const file of walk(abs)) {
        const fst = await stat(file)
        const folder = relative(root, resolve(file, '..')).split(sep).join('/')
        out.push({ abs: file, name: basename(file), path: folder, size: fst.size, mtimeMs: fst.mtimeMs, type: typeOf(file) })
      }
    } else {
      throw new CliError(EXIT.usage, `Not a file or folder: ${arg}`)
    }
  }
  if (out.length === 0) throw new CliError(EXIT.usage, 'Nothing to send: the folders are empty.')
  return out
}

async function* walk(dir: string): AsyncIterable<string> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))
  for (const e of entries) {
    const full = join(dir, e.name)
    if (e.isDirectory()) yield* walk(full)
    else if (e.isFile() && !(await lstat(full)).isSymbolicLink()) yield full
  }
}

/**
 * Standard input, spooled to a private temporary file (streamed, never held in memory) and hashed on
 * the way: an upload declares its size first, and parts are read (and encrypted) by offset. The hash
 * names the upload for resuming: piping the same bytes again after an interruption resumes it (stdin
 * cannot be rewound, so an interrupted send reads it again; only the parts the server lacks are sent).
 * The spooled copy is removed when the process ends, however it ends (short of SIGKILL).
 */
export async function spoolStdin(name: string): Promise<LocalFile> {
  const dir = await mkdtemp(join(tmpdir(), 'sharesync-stdin-'))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  const abs = join(dir, 'stdin')
  const hash = createHash('sha256')
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk)
      done(null, chunk)
    },
  })
  await pipeline(process.stdin, hashing, createWriteStream(abs, { mode: 0o600 }))
  const st = await stat(abs)
  return { abs, name, path: '', size: st.size, mtimeMs: st.mtimeMs, type: typeOf(name), contentHash: hash.digest('hex') }
}
