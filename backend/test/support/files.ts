import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'sharesync-files-'))

export function randomFile(size: number, name = `f-${size}.bin`): { path: string; sha256: string; bytes: Buffer } {
  const bytes = randomBytes(size)
  const path = join(dir, name)
  writeFileSync(path, bytes)
  return { path, sha256: sha256(bytes), bytes }
}

export const sha256 = (bytes: Buffer | Uint8Array) => createHash('sha256').update(bytes).digest('hex')

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** The real curl binary, as a user would run it. Returns status, body and headers. */
export async function curl(args: string[]): Promise<{ status: number; body: string; headers: string }> {
  const headerFile = join(dir, `h-${randomBytes(4).toString('hex')}`)
  const { stdout } = await run('curl', ['-sS', '-D', headerFile, '-w', '\n%{http_code}', ...args], { maxBuffer: 64 * 1024 * 1024 })
  const i = stdout.lastIndexOf('\n')
  const { readFileSync } = await import('node:fs')
  return { status: Number(stdout.slice(i + 1)), body: stdout.slice(0, i), headers: readFileSync(headerFile, 'utf8') }
}

export const tempPath = (name: string) => join(dir, name)
