import { Readable } from 'node:stream'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { cleanFilename } from '@sharesync/protocol'
import type { Config } from '../config'
import { AppError, guardDependency } from '../http/app-error'
import {
  BlobTooLargeError,
  contentDisposition,
  safeContentType,
  type BlobInventory,
  type BlobStore,
  type ByteRange,
  type OpenedBlob,
  type Part,
  type PendingUpload,
  type StoredObject,
} from './blob-store'
import { ByteMeter, failWith } from './byte-meter'

type S3Config = Extract<Config['storage'], { kind: 's3' }>

/** Small control calls (head, list, create, delete): a hung S3 must not hang a request for long. */
const QUICK = { requestTimeout: 5000 }

/**
 * Part size for put() of a stream of unknown length: S3's minimum (5 MiB), grown only when the
 * size limit needs it (S3 allows 10 000 parts). An upload holds at most two parts in memory.
 */
const PUT_PART_SIZE = 5 * 2 ** 20
const MAX_PARTS = 10_000

/**
 * Any S3-compatible bucket (AWS S3, MinIO, R2). The browser PUTs parts and downloads through
 * presigned URLs; the server only creates, lists, completes and deletes. Every call is guarded so
 * an unreachable S3 answers 503 storage_unavailable, quickly (short connect timeout, one retry).
 */
export class S3Store implements BlobStore {
  readonly kind = 's3' as const
  private readonly client: S3Client
  /** Signs URLs for the browser's endpoint, which may differ from the one the server reaches. */
  private readonly presigner: S3Client
  private readonly bucket: string

  constructor(config: S3Config) {
    const base = {
      region: config.region,
      credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
      forcePathStyle: config.forcePathStyle,
      maxAttempts: 2,
      // socketTimeout is an idle timeout, generous for part uploads and slow completions (S3 sends
      // keep-alive bytes). Whole-request deadlines are set per call (QUICK) and must throw, not warn.
      requestHandler: { connectionTimeout: 3000, socketTimeout: 30_000, throwOnRequestTimeout: true },
    }
    this.bucket = config.bucket
    this.client = new S3Client({ ...base, endpoint: config.endpoint })
    this.presigner = config.publicEndpoint ? new S3Client({ ...base, endpoint: config.publicEndpoint }) : this.client
  }

  createMultipart(key: string, opts: { contentType: string }): Promise<{ uploadId: string }> {
    return guarded(async () => {
      const out = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: opts.contentType }), QUICK)
      if (!out.UploadId) throw new Error('S3 returned no UploadId')
      return { uploadId: out.UploadId }
    })
  }

  /** The part's exact size is signed as its Content-Length: S3 refuses a PUT of any other length. */
  signPart(key: string, uploadId: string, partNumber: number, ttlSeconds: number, opts: { size: number }): Promise<string> {
    const command = new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, ContentLength: opts.size })
    return getSignedUrl(this.presigner, command, { expiresIn: ttlSeconds, signableHeaders: new Set(['content-length']) })
  }

  listParts(key: string, uploadId: string): Promise<Part[]> {
    return guarded(async () => {
      const parts: Part[] = []
      let marker: string | undefined
      do {
        const out = await this.client.send(new ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }), QUICK)
        for (const p of out.Parts ?? []) {
          if (p.PartNumber !== undefined && p.ETag) parts.push({ partNumber: p.PartNumber, etag: p.ETag, size: p.Size ?? 0 })
        }
        marker = out.IsTruncated ? out.NextPartNumberMarker : undefined
      } while (marker)
      return parts.sort((a, b) => a.partNumber - b.partNumber)
    })
  }

  /** Completing an upload that was already completed answers the object's size (a retried completion). */
  completeMultipart(key: string, uploadId: string, parts: Omit<Part, 'size'>[]): Promise<{ size: number }> {
    return guarded(async () => {
      if (parts.length === 0) throw new AppError('upload_incomplete', 'An upload needs at least one part.')
      try {
        await this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
          }),
        )
      } catch (err) {
        if (s3Code(err) !== 'NoSuchUpload') throw err
        // Keys are never reused: an object under this key is this upload, completed before.
        const done = await this.head(key)
        if (done) return done
        throw err
      }
      const head = await this.head(key)
      if (!head) throw new AppError('upload_incomplete', 'The completed upload is not in storage.')
      return head
    })
  }

  abortMultipart(key: string, uploadId: string): Promise<void> {
    return guarded(async () => {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }), QUICK).catch((err: unknown) => {
        // Aborting twice (or after the janitor did) is not an error.
        if (s3Code(err) !== 'NoSuchUpload') throw err
      })
    })
  }

  /**
   * Streams a body of unknown length: one PutObject when it fits in one part, else a multipart upload
   * whose id is handed to `onMultipart` (to be recorded) before its first part is sent, so a crash
   * leaves nothing storage holds that nobody knows about. Memory: the part being filled and at most
   * one part in flight. Over `maxBytes`: BlobTooLargeError, and nothing is left in storage.
   */
  put(key: string, body: Readable, opts: { contentType: string; maxBytes?: number; onMultipart?: (uploadId: string) => Promise<void> }): Promise<{ size: number }> {
    return guarded(async () => {
      const maxBytes = opts.maxBytes ?? Number.POSITIVE_INFINITY
      const meter = new ByteMeter(maxBytes)
      failWith(body, meter)
      body.pipe(meter)
      const partSize = Number.isFinite(maxBytes) ? Math.max(PUT_PART_SIZE, Math.ceil(maxBytes / MAX_PARTS / 2 ** 20) * 2 ** 20) : PUT_PART_SIZE
      // Mutated by sendPart (a closure): kept in one object so the compiler does not narrow it away.
      const state: { uploadId: string | null; inFlight: Promise<void> | null } = { uploadId: null, inFlight: null }
      const parts: { PartNumber: number; ETag: string }[] = []
      let buffer = Buffer.allocUnsafe(partSize)
      let filled = 0
      const sendPart = async (bytes: Buffer) => {
        if (state.uploadId === null) {
          const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: opts.contentType }), QUICK)
          if (!created.UploadId) throw new Error('S3 returned no UploadId')
          state.uploadId = created.UploadId
          await opts.onMultipart?.(state.uploadId)
        }
        const UploadId = state.uploadId
        await state.inFlight
        const PartNumber = parts.length + 1
        parts.push({ PartNumber, ETag: '' })
        const sending = (async () => {
          const out = await this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId, PartNumber, Body: bytes, ContentLength: bytes.length }))
          parts[PartNumber - 1]!.ETag = out.ETag ?? ''
        })()
        // A failed part is seen at the next await of inFlight; keep it from being "unhandled" meanwhile.
        sending.catch(() => undefined)
        state.inFlight = sending
      }
      try {
        for await (const chunk of meter as AsyncIterable<Buffer>) {
          let offset = 0
          while (offset < chunk.length) {
            const n = Math.min(chunk.length - offset, partSize - filled)
            chunk.copy(buffer, filled, offset, offset + n)
            filled += n
            offset += n
            if (filled === partSize) {
              await sendPart(buffer)
              buffer = Buffer.allocUnsafe(partSize)
              filled = 0
            }
          }
        }
        if (state.uploadId === null) {
          await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: buffer.subarray(0, filled), ContentLength: filled, ContentType: opts.contentType }))
          return { size: meter.bytes }
        }
        if (filled > 0) await sendPart(buffer.subarray(0, filled))
        await state.inFlight
        await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: state.uploadId, MultipartUpload: { Parts: parts } }))
        return { size: meter.bytes }
      } catch (err) {
        body.unpipe(meter)
        meter.destroy()
        await state.inFlight?.catch(() => undefined)
        if (state.uploadId !== null) {
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: state.uploadId }), QUICK).catch(() => undefined)
        }
        if (meter.exceeded) {
          body.destroy()
          throw new BlobTooLargeError(meter.limit)
        }
        throw err
      }
    })
  }

  signGet(key: string, opts: { filename: string; contentType: string; ttlSeconds: number }): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ResponseContentDisposition: contentDisposition(cleanFilename(opts.filename)),
      ResponseContentType: safeContentType(opts.contentType),
      ResponseCacheControl: 'private, no-store',
    })
    return getSignedUrl(this.presigner, command, { expiresIn: opts.ttlSeconds })
  }

  head(key: string): Promise<{ size: number } | null> {
    return guarded(async () => {
      try {
        const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), QUICK)
        return { size: out.ContentLength ?? 0 }
      } catch (err) {
        if (s3Code(err) === 'NotFound' || s3Code(err) === 'NoSuchKey') return null
        throw err
      }
    })
  }

  /** The deadline (QUICK) covers the wait for S3's answer only; the body then streams at the reader's pace. */
  openRead(key: string, range?: ByteRange): Promise<OpenedBlob | null> {
    return guarded(async () => {
      try {
        const out = await this.client.send(
          new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
          QUICK,
        )
        if (!(out.Body instanceof Readable)) throw new Error('S3 returned no body stream')
        const total = /\/(\d+)$/.exec(out.ContentRange ?? '')?.[1]
        return { body: out.Body, size: total !== undefined ? Number(total) : (out.ContentLength ?? 0) }
      } catch (err) {
        if (s3Code(err) === 'NoSuchKey' || s3Code(err) === 'NotFound') return null
        if (s3Code(err) === 'InvalidRange') throw new AppError('range_not_satisfiable', 'The requested range is outside the file.')
        throw err
      }
    })
  }

  delete(key: string): Promise<void> {
    return guarded(async () => {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), QUICK)
    })
  }

  readonly inventory: BlobInventory = {
    objects: () => this.listObjects(),
    uploads: () => this.listUploads(),
    // Nothing of S3's is scratch: an interrupted write is a multipart upload, listed above.
    sweepScratch: async () => 0,
  }

  private async *listObjects(): AsyncIterable<StoredObject> {
    let token: string | undefined
    do {
      const out = await guarded(() => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, ContinuationToken: token }), QUICK))
      for (const o of out.Contents ?? []) {
        if (o.Key) yield { key: o.Key, size: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date(0) }
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined
    } while (token)
  }

  private async *listUploads(): AsyncIterable<PendingUpload> {
    let keyMarker: string | undefined
    let uploadIdMarker: string | undefined
    for (;;) {
      const out = await guarded(() =>
        this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }), QUICK),
      )
      for (const u of out.Uploads ?? []) {
        if (u.Key && u.UploadId) yield { key: u.Key, uploadId: u.UploadId, startedAt: u.Initiated ?? new Date(0) }
      }
      if (!out.IsTruncated) return
      keyMarker = out.NextKeyMarker
      uploadIdMarker = out.NextUploadIdMarker
    }
  }

  ping(signal?: AbortSignal): Promise<void> {
    return guarded(async () => {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { ...QUICK, abortSignal: signal })
    })
  }

  async close(): Promise<void> {
    this.client.destroy()
    if (this.presigner !== this.client) this.presigner.destroy()
  }
}

/** Dependency failures become storage_unavailable; S3's answers to bad uploads become client errors. */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  return guardDependency('storage_unavailable', async () => {
    try {
      return await work()
    } catch (err) {
      switch (s3Code(err)) {
        case 'NoSuchUpload':
          throw new AppError('not_found', 'No such upload.')
        case 'InvalidPart':
        case 'InvalidPartOrder':
        case 'EntityTooSmall':
          throw new AppError('upload_incomplete', 'A part is missing, out of order, too small, or its ETag does not match.')
        case 'XMinioStorageFull':
        case 'InsufficientStorage':
          throw new AppError('insufficient_storage', 'The storage server has run out of space, so this upload was not kept. Please try again later or tell the operator.')
        default:
          throw err
      }
    }
  })
}

function s3Code(err: unknown): string | undefined {
  const e = err as { name?: unknown; Code?: unknown } | null
  if (typeof e?.Code === 'string') return e.Code
  return typeof e?.name === 'string' ? e.name : undefined
}

