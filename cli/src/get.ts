import { createWriteStream } from 'node:fs'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { dirname, resolve, sep } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { DecryptError, MetadataError, ShareKey, decryptStream, openMetadata, parseKeyToken, plainSizeOf } from '@sharesync/crypto'
import type { DownloadResponse, ShareMetadata } from '@sharesync/protocol'
import { createClient, errorOf } from './api'
import { CliError, EXIT } from './exit-codes'
import { createProgress } from './progress'

export interface GetOptions {
  output?: string
  password?: string
  quiet: boolean
}

export interface GetResult {
  id: string
  encrypted: boolean
  files: { name: string; path: string; size: number; savedTo: string }[]
}

/** `https://host/s/<id>#<key>` → the server, the share id and the fragment (without '#'). */
export function parseLink(link: string): { server: string; id: string; fragment: string } {
  let url: URL
  try {
    url = new URL(link)
  } catch {
    throw new CliError(EXIT.usage, `Not a link: ${link}`)
  }
  const m = /^(.*)\/s\/([A-Za-z0-9_-]{8,64})\/?$/.exec(url.pathname)
  if (!m) throw new CliError(EXIT.usage, `Not a ShareSync share link (…/s/<id>): ${link}`)
  return { server: url.origin + m[1]!, id: m[2]!, fragment: url.hash.replace(/^#/, '') }
}

/**
 * A name from the share (chosen by whoever uploaded it) as a safe relative path: no absolute paths,
 * no `..`, no empty or dot segments, no control characters, backslashes or drive letters; it can
 * never point outside the output folder.
 */
export function safeRelative(folder: string, name: string): string {
  const clean = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '_').replace(/[\\:]/g, '_')
  const segments = [...folder.split('/'), name.replace(/\//g, '_')].map(clean).filter((s) => s !== '' && s !== '.' && s !== '..')
  if (segments.length === 0) return 'download'
  return segments.join(sep)
}

/**
 * Downloads a share: its metadata, then each file through the URL the server gives (under one lease
 * for a share with a download limit). Plain files resume with Range from `<name>.part`; encrypted ones
 * are decrypted as they stream, each record verified before it is written, and only a file whose last
 * record verified gets its name.
 */
export async function get(link: string, opts: GetOptions): Promise<GetResult> {
  const { server, id, fragment } = parseLink(link)
  const client = createClient(server, undefined)
  const token = fragment ? parseKeyToken(fragment) : null
  if (fragment && !token) throw new CliError(EXIT.usage, 'The key in this link (after #) is damaged or incomplete.')
  if (token?.password && opts.password === undefined) throw new CliError(EXIT.auth, 'This encrypted link needs its password: pass --password.')
  const key = token ? await ShareKey.derive(token.secret, token.password ? opts.password! : null) : null
  const sharePassword = key ? (key.accessToken ?? undefined) : opts.password
  const headers: Record<string, string> = sharePassword !== undefined ? { 'x-share-password': sharePassword } : {}

  const meta = await client.json<ShareMetadata>('GET', `/api/shares/${id}`, { headers })
  if (meta.passwordRequired && !meta.files) throw new CliError(EXIT.auth, 'This link needs a password: pass --password.')
  const files = meta.files ?? []
  let names = files.map((f) => ({ name: f.name, path: f.path ?? '' }))
  if (meta.encrypted) {
    if (!key) throw new CliError(EXIT.usage, 'This share is end-to-end encrypted and the link has no key (the part after #).')
    try {
      const manifest = await openMetadata(key, meta.metadata ?? '')
      if (manifest.files.length !== files.length) throw new CliError(EXIT.integrity, 'The server lists a different number of files than the encrypted description.')
      names = manifest.files.map((f) => ({ name: f.name, path: f.path ?? '' }))
    } catch (err) {
      if (err instanceof MetadataError) throw new CliError(err.kind === 'wrong_key' ? EXIT.auth : EXIT.integrity, err.message)
      throw err
    }
  }

  // One file: -o is the file (or a folder to put it in); several: -o is the folder (default: here).
  const single = files.length === 1
  const outIsDir = opts.output !== undefined && opts.output !== '-' && (await stat(opts.output).catch(() => null))?.isDirectory() === true
  const target = (i: number) => {
    const rel = safeRelative(names[i]!.path, names[i]!.name)
    if (single && opts.output !== undefined && !outIsDir) return resolve(opts.output)
    const root = resolve(opts.output ?? '.')
    const full = resolve(root, rel)
    if (!full.startsWith(root + sep)) throw new CliError(EXIT.integrity, `Refusing a file name that leaves the output folder: ${names[i]!.name}`)
    return full
  }
  if (opts.output === '-' && !single) throw new CliError(EXIT.usage, '-o - (standard output) takes a share of one file.')

  const total = files.reduce((n, f) => n + f.size, 0)
  const progress = createProgress('get', total, { quiet: opts.quiet })
  let lease: string | undefined
  const result: GetResult = { id, encrypted: meta.encrypted === true, files: [] }
  for (const [i, file] of files.entries()) {
    const ask = await client.json<DownloadResponse>('POST', `/api/shares/${id}/files/${file.id}/download`, {
      body: { ...(sharePassword !== undefined ? { password: sharePassword } : {}), ...(lease ? { lease } : {}) },
    })
    lease = ask.lease?.token ?? lease
    const url = new URL(ask.url, server).toString()
    const toStdout = opts.output === '-'
    const dest = toStdout ? '-' : target(i)
    const partial = `${dest}.part`
    if (!toStdout) await mkdir(dirname(dest), { recursive: true })

    if (meta.encrypted) {
      const fileKey = await key!.fileKey(i)
      const res = await client.raw(url)
      if (!res.ok || !res.body) throw await errorOf(res)
      const counted = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          progress.add(chunk.length)
          ctl.enqueue(chunk)
        },
      })
      const plain = res.body.pipeThrough(counted).pipeThrough(decryptStream(fileKey, { expectedSize: file.size }))
      try {
        await pipeline(Readable.fromWeb(plain as import('node:stream/web').ReadableStream), toStdout ? stdoutSink() : createWriteStream(partial))
      } catch (err) {
        if (!toStdout) await rm(partial, { force: true })
        if (err instanceof DecryptError) throw new CliError(EXIT.integrity, `${names[i]!.name}: ${err.message}`)
        throw err
      }
    } else {
      // Resume a plain file from what an earlier run saved.
      const have = toStdout ? 0 : ((await stat(partial).catch(() => null))?.size ?? 0)
      const from = have > 0 && have < file.size ? have : 0
      const res = await client.raw(url, from > 0 ? { headers: { range: `bytes=${from}-` } } : {})
      if (!res.ok || !res.body) throw await errorOf(res)
      const appending = from > 0 && res.status === 206
      progress.add(appending ? from : 0)
      // Node streams all the way: no web TransformStream in the plain path.
      const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream)
      body.on('data', (chunk: Buffer) => progress.add(chunk.length))
      await pipeline(body, toStdout ? stdoutSink() : createWriteStream(partial, { flags: appending ? 'a' : 'w' }))
      if (!toStdout && (await stat(partial)).size !== file.size) throw new CliError(EXIT.integrity, `${names[i]!.name}: the download is incomplete; run again to resume.`)
    }
    if (!toStdout) await rename(partial, dest)
    const size = meta.encrypted ? (plainSizeOf(file.size) ?? 0) : file.size
    result.files.push({ name: names[i]!.name, path: names[i]!.path, size, savedTo: dest })
  }
  progress.done()
  return result
}

/** stdout as a pipeline end that is never closed (other output may follow). */
function stdoutSink(): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      if (process.stdout.write(chunk)) done()
      else process.stdout.once('drain', () => done())
    },
  })
}
