// Runs s3rver on loopback with one bucket whose CORS lets a browser PUT parts and read ETag.
//
// s3rver also reads `Range: bytes=0-0` as "from 0 to the end" (its end 0 is falsy): that answer is cut
// to the one byte S3 sends (singleFirstByte below).
//
// s3rver lacks four things real S3 and MinIO do, and the app relies on: ListParts (resume after a
// reload), AbortMultipartUpload, ListMultipartUploads (the reconciler), and refusing a completion whose parts are missing, out of order,
// too small or carry the wrong ETag (it also accepts parts for uploads that do not exist). This file
// fills them in on top of s3rver's own upload directory, so the S3 store is tested against S3's rules.
import { readdir, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import S3rver from 's3rver'

const [port, directory, bucket] = process.argv.slice(2)
const cors = `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>`
const server = new S3rver({
  port: Number(port),
  address: '127.0.0.1',
  directory,
  silent: true,
  configureBuckets: [{ name: bucket, configs: [cors] }],
})

const MIN_PART_SIZE = 5 * 1024 * 1024

function s3Error(ctx, status, code, message) {
  ctx.status = status
  ctx.type = 'application/xml'
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`
}

async function storedParts(dir) {
  const parts = []
  for (const name of await readdir(dir)) {
    if (!/^\d+$/.test(name)) continue
    const [info, md5] = await Promise.all([stat(join(dir, name)), readFile(join(dir, `${name}.md5`), 'utf8').catch(() => null)])
    if (md5 !== null) parts.push({ number: Number(name), size: info.size, etag: md5.trim(), modified: info.mtime })
  }
  return parts.sort((a, b) => a.number - b.number)
}

async function readBody(req) {
  const chunks = []
  for await (const chunk of req) chunks.push(chunk)
  return Buffer.concat(chunks)
}

async function multipartRules(ctx, next) {
  const uploadId = ctx.query.uploadId
  const m = /^\/([^/]+)\/(.+)$/.exec(ctx.path)
  if (typeof uploadId !== 'string' || !m) return next()
  const [, bucketName, encodedKey] = m
  const key = decodeURIComponent(encodedKey)
  const dir = join(server.store.getResourcePath(bucketName, undefined, 'uploads'), uploadId)
  const storedKey = /^[0-9a-f]{32}$/.test(uploadId) ? await readFile(join(dir, 'key'), 'utf8').catch(() => null) : null
  if (storedKey !== key) return s3Error(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist.')

  if (ctx.method === 'GET') {
    const marker = Number(ctx.query['part-number-marker'] ?? 0)
    const maxParts = Math.min(Number(ctx.query['max-parts'] ?? 1000), 1000)
    const after = (await storedParts(dir)).filter((p) => p.number > marker)
    const page = after.slice(0, maxParts)
    ctx.body = {
      ListPartsResult: {
        Bucket: bucketName,
        Key: key,
        UploadId: uploadId,
        PartNumberMarker: marker,
        NextPartNumberMarker: page.length ? page[page.length - 1].number : marker,
        MaxParts: maxParts,
        IsTruncated: after.length > page.length,
        Part: page.map((p) => ({ PartNumber: p.number, LastModified: p.modified.toISOString(), ETag: `"${p.etag}"`, Size: p.size })),
      },
    }
    return
  }
  if (ctx.method === 'DELETE') {
    await rm(dir, { recursive: true, force: true })
    ctx.status = 204
    return
  }
  if (ctx.method === 'POST') {
    const body = await readBody(ctx.req)
    const given = [...body.toString('utf8').matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map(([, part]) => ({
      number: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(part)?.[1]),
      etag: (/<ETag>([^<]*)<\/ETag>/.exec(part)?.[1] ?? '').replace(/&quot;|"/g, '').toLowerCase(),
    }))
    const stored = new Map((await storedParts(dir)).map((p) => [p.number, p]))
    for (const [i, part] of given.entries()) {
      if (i > 0 && given[i - 1].number >= part.number) return s3Error(ctx, 400, 'InvalidPartOrder', 'The list of parts was not in ascending order.')
      const held = stored.get(part.number)
      if (!held || held.etag !== part.etag) return s3Error(ctx, 400, 'InvalidPart', 'One or more of the specified parts could not be found.')
      if (i < given.length - 1 && held.size < MIN_PART_SIZE) return s3Error(ctx, 400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.')
    }
    // s3rver reads the body again from ctx.req: hand it a replay of what was read here.
    ctx.req = Object.assign(Readable.from([body]), { headers: ctx.req.headers })
    return next()
  }
  return next() // PUT: upload a part to an upload that exists
}

// ListMultipartUploads (GET /bucket?uploads): every upload not yet completed or aborted, by key then
// upload id, paged with key-marker / upload-id-marker like S3.
async function listMultipartUploads(ctx, next) {
  const m = /^\/([^/]+)\/?$/.exec(ctx.path)
  if (ctx.method !== 'GET' || !m || !('uploads' in ctx.query)) return next()
  const [, bucketName] = m
  const root = server.store.getResourcePath(bucketName, undefined, 'uploads')
  const uploads = []
  for (const uploadId of await readdir(root).catch(() => [])) {
    const keyFile = join(root, uploadId, 'key')
    const [key, info] = await Promise.all([readFile(keyFile, 'utf8').catch(() => null), stat(keyFile).catch(() => null)])
    if (key !== null && info) uploads.push({ key, uploadId, initiated: info.mtime })
  }
  uploads.sort((a, b) => (a.key === b.key ? (a.uploadId < b.uploadId ? -1 : 1) : a.key < b.key ? -1 : 1))
  const keyMarker = ctx.query['key-marker'] ?? ''
  const idMarker = ctx.query['upload-id-marker'] ?? ''
  const after = uploads.filter((u) => u.key > keyMarker || (u.key === keyMarker && idMarker !== '' && u.uploadId > idMarker))
  const maxUploads = Math.min(Number(ctx.query['max-uploads'] ?? 1000), 1000)
  const page = after.slice(0, maxUploads)
  const last = page[page.length - 1]
  ctx.body = {
    ListMultipartUploadsResult: {
      Bucket: bucketName,
      KeyMarker: keyMarker,
      UploadIdMarker: idMarker,
      NextKeyMarker: last?.key ?? '',
      NextUploadIdMarker: last?.uploadId ?? '',
      MaxUploads: maxUploads,
      IsTruncated: after.length > page.length,
      Upload: page.map((u) => ({ Key: u.key, UploadId: u.uploadId, Initiated: u.initiated.toISOString() })),
    },
  }
}

async function singleFirstByte(ctx, next) {
  if (ctx.method !== 'GET' || !/^bytes=0-0$/.test(ctx.get('range'))) return next()
  await next()
  const source = ctx.body
  if (ctx.status !== 206 || !source || typeof source.pipe !== 'function') return
  const total = /\/(\d+)$/.exec(ctx.response.get('Content-Range'))?.[1]
  const first = await new Promise((resolve, reject) => {
    source.once('error', reject)
    source.once('readable', () => resolve(source.read(1)))
  })
  source.destroy()
  ctx.set('Content-Range', `bytes 0-0/${total}`)
  ctx.body = first
}

// Before s3rver's router (the last middleware), after its XML encoder, so plain objects become XML.
server.middleware.splice(server.middleware.length - 1, 0, multipartRules, listMultipartUploads, singleFirstByte)

await server.run()
process.on('SIGTERM', () => server.close().then(() => process.exit(0)))
// Node's default closes an idle connection after 5 s: a client on a loaded machine (the soak's 150
// clients) then reuses one just as it closes and gets a reset ("other side closed"). The AWS SDK
// retries those; the soak's plain fetch counted them as failed downloads. 65 s, like the app's own
// HTTP_KEEP_ALIVE_TIMEOUT.
server.httpServer.keepAliveTimeout = 65_000
