import { createWriteStream } from 'node:fs'
import { mkdir, open, rename, rm, stat, truncate } from 'node:fs/promises'
import { dirname, resolve, sep } from 'node:path'
import { Readable, Transform, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  CHUNK_SIZE,
  DecryptError,
  FIRST_RECORD_PLAIN,
  MetadataError,
  RECORD_PLAIN,
  ShareKey,
  decryptStream,
  openMetadata,
  parseKeyToken,
  plainSizeOf,
  recordCount,
  recordPlainRange,
  type FileKey,
} from '@sharesync/crypto'
import type { DownloadResponse, ShareMetadata } from '@sharesync/protocol'
import { createClient, errorOf } from './api'
import { CliError, EXIT } from './exit-codes'
import { createProgress, formatBytes, type Progress } from './progress'

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
      const plainSize = plainSizeOf(file.size)
      if (plainSize === null) throw new CliError(EXIT.integrity, `${names[i]!.name}: the server announces a size no encrypted file has.`)
      const fileKey = await key!.fileKey(i)
      const resumeAt = toStdout ? null : await resumePoint(partial, plainSize)
      const attempt = (from: ResumeAt | null) => getEncrypted({ client, url, fileKey, file, name: names[i]!.name, partial: toStdout ? null : partial, progress, from })
      try {
        let resumed = false
        if (resumeAt) {
          progress.note(`${names[i]!.name}: resuming after ${formatBytes(resumeAt.keep)} already saved`)
          resumed = await attempt(resumeAt).then(
            () => true,
            (err: unknown) => {
              // The kept bytes are not this file's (another share's .part, a changed file), or the
              // server does not do Range: start over.
              if (!(err instanceof ResumeMismatch)) throw err
              progress.note(`${names[i]!.name}: ${err.message}; downloading it again`)
              return false
            },
          )
        }
        if (!resumed) await attempt(null)
      } catch (err) {
        // A file that failed its check leaves nothing behind; one cut short keeps its .part to resume.
        if (!toStdout && err instanceof CliError && err.exitCode === EXIT.integrity && err.code !== 'truncated') await rm(partial, { force: true })
        throw err
      }
      // The whole file: every record verified with its own index, the last one as the last, and the
      // saved plaintext exactly as long as the encrypted size says.
      if (!toStdout && (await stat(partial)).size !== plainSize) throw new CliError(EXIT.integrity, `${names[i]!.name}: the download is incomplete; run again to resume.`)
    } else {
      // Resume a plain file from what an earlier run saved.
      const have = toStdout ? 0 : ((await stat(partial).catch(() => null))?.size ?? 0)
      const from = have > 0 && have < file.size ? have : 0
      const res = await client.download(url, from > 0 ? { range: `bytes=${from}-` } : {})
      const appending = from > 0 && res.status === 206
      progress.add(appending ? from : 0)
      // Node streams all the way (node:http, no fetch): the plain path is a socket copied to a file.
      const body = res.body
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

/** Where an interrupted encrypted download picks up: what the .part keeps and the record fetched next. */
interface ResumeAt {
  /** plaintext bytes of the .part that are kept as they are */
  keep: number
  /** the record fetched first: the last one kept is fetched again and compared (the .part is this file's) */
  record: number
  /** that record's plaintext as the .part holds it */
  tail: Buffer
}

/**
 * The .part of an encrypted file holds only verified plaintext, record after record (a record is
 * written once its tag verified), but a kill can cut the last write. Its whole records are kept,
 * minus the last one, which is downloaded again to prove the kept bytes belong to this file.
 * Null when fewer than two whole records are there (nothing worth resuming).
 */
async function resumePoint(partial: string, plainSize: number): Promise<ResumeAt | null> {
  const have = (await stat(partial).catch(() => null))?.size ?? 0
  if (have < FIRST_RECORD_PLAIN || have > plainSize) return null
  // Whole records in the .part; the file's last record is never counted (it is short, or it ends the file).
  const whole = Math.min(1 + Math.floor((have - FIRST_RECORD_PLAIN) / RECORD_PLAIN), recordCount(plainSize) - 1)
  if (whole < 2) return null
  const record = whole - 1
  const { start, end } = recordPlainRange(plainSize, record)
  const handle = await open(partial, 'r')
  try {
    const tail = Buffer.alloc(end - start)
    const { bytesRead } = await handle.read(tail, 0, tail.length, start)
    if (bytesRead !== tail.length) return null
    return { keep: start, record, tail }
  } finally {
    await handle.close()
  }
}

class ResumeMismatch extends Error {}

/**
 * Downloads (the rest of) an encrypted file and decrypts it as it streams: from the start into a new
 * .part (or standard output), or, resuming, from `from.record`'s chunk with Range, checking that
 * record against the .part's copy before appending the records after it.
 */
async function getEncrypted(a: {
  client: ReturnType<typeof createClient>
  url: string
  fileKey: FileKey
  file: { size: number }
  name: string
  partial: string | null
  progress: Progress
  from: ResumeAt | null
}): Promise<void> {
  const offset = a.from ? a.from.record * CHUNK_SIZE : 0
  const res = await a.client.raw(a.url, a.from ? { headers: { range: `bytes=${offset}-` } } : {})
  if (!res.ok || !res.body) throw await errorOf(res)
  if (a.from && res.status !== 206) {
    await res.body.cancel()
    throw new ResumeMismatch('the server cannot resume (it sent the whole file)')
  }
  a.progress.add(offset)
  const counted = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, ctl) {
      a.progress.add(chunk.length)
      ctl.enqueue(chunk)
    },
  })
  const plain = res.body.pipeThrough(counted).pipeThrough(decryptStream(a.fileKey, { expectedSize: a.file.size - offset, firstRecord: a.from?.record ?? 0 }))
  const source = Readable.fromWeb(plain as import('node:stream/web').ReadableStream)
  try {
    if (!a.partial) {
      await pipeline(source, stdoutSink())
    } else if (!a.from) {
      await pipeline(source, createWriteStream(a.partial))
    } else {
      // The re-fetched record must equal the kept copy; the .part is cut after it and the rest appended.
      const tail = a.from.tail
      await truncate(a.partial, a.from.keep + tail.length)
      let compared = 0
      const check = new Transform({
        transform(chunk: Buffer, _enc, done) {
          if (compared < tail.length) {
            const n = Math.min(tail.length - compared, chunk.length)
            if (!chunk.subarray(0, n).equals(tail.subarray(compared, compared + n))) return done(new ResumeMismatch("the saved part is not this file's"))
            compared += n
            chunk = chunk.subarray(n)
          }
          done(null, chunk.length > 0 ? chunk : undefined)
        },
      })
      await pipeline(source, check, createWriteStream(a.partial, { flags: 'a' }))
    }
  } catch (err) {
    if (err instanceof DecryptError) {
      const hint = err.kind === 'truncated' ? ' Run again to resume.' : ''
      throw new CliError(EXIT.integrity, `${a.name}: ${err.message}${hint}`, err.kind)
    }
    throw err
  }
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
