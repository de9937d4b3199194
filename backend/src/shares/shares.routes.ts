import { pipeline } from 'node:stream/promises'
import { Router, type Request, type Response } from 'express'
import { extension } from 'mime-types'
import {
  CompleteFileRequest,
  CreateShareRequest,
  CreateTextRequest,
  PreviewContentQuery,
  PreviewRequest,
  RevealTextRequest,
  ZipContentQuery,
  ZipRequest,
  DownloadRequest,
  FileId,
  FileContentQuery,
  MAX_FILE_NAME_LENGTH,
  ShareId,
  ShareOptionsFromStrings,
  SignPartsRequest,
  type PublicConfig,
} from '@sharesync/protocol'
import type { Deps } from '../deps'
import { AppError, shareNotFound } from '../http/app-error'
import { baseUrl } from '../http/base-url'
import { requestedRange } from '../http/byte-range'
import { multipartFiles } from './multipart-files'
import { limitsFor, rulesFor } from './policy'
import type { OwnerProof } from './common'
import { createShares, type Shares } from './shares'
import type { StreamedFile } from './stream-upload.service'
import type { FileResponse } from './download.service'
import { sizeInWords } from '../http/in-words'

const EXPIRY_CHOICES = [3600, 86_400, 3 * 86_400, 7 * 86_400, 30 * 86_400]

/** Malformed ids get the same 404 as unknown ones: nothing to learn from probing. */
function shareId(req: Request): string {
  const parsed = ShareId.safeParse(req.params.id)
  if (!parsed.success) throw shareNotFound()
  return parsed.data
}
function fileId(req: Request): string {
  const parsed = FileId.safeParse(req.params.fileId)
  if (!parsed.success) throw shareNotFound()
  return parsed.data
}
const proof = (req: Request): OwnerProof => ({ viewer: req.viewer, ownerToken: req.get('x-owner-token') })
const sharePassword = (req: Request) => req.get('x-share-password')
const leaseHeader = (req: Request) => req.get('x-download-lease')

function noStore(res: Response) {
  res.setHeader('Cache-Control', 'no-store')
  res.setHeader('Referrer-Policy', 'no-referrer')
}

/** Cloud links: API.md "HTTP". Routes parse, call the service, shape the answer. */
export function sharesRouter(deps: Deps, shares: Shares = createShares(deps)): Router {
  const { config } = deps
  const { uploads, streamUploads, streamSlots, downloads, deletion, zips, previews, texts } = shares
  const r = Router()

  r.get('/api/config', async (_req, res) => {
    // The admin's live settings, so the web app shows the limits that apply right now.
    const policy = await deps.settings.policy()
    const body: PublicConfig = {
      version: '0.1.0',
      auth: { google: Boolean(config.google), providers: config.oidc.map((p) => ({ id: p.id, name: p.name, button: p.button })) },
      anonymousUploads: policy.allowAnonymousUploads,
      limits: { anonymous: policy.anonymous, user: policy.user },
      defaults: { expiresIn: Math.min(policy.defaultExpiry, policy.anonymous.maxExpiry), maxDownloads: null },
      encryption: { default: policy.encryptByDefault || policy.requireEncryption, required: policy.requireEncryption },
      expiryChoices: EXPIRY_CHOICES.filter((s) => s <= policy.user.maxExpiry),
      storage: config.storage.kind,
      previews: policy.previews,
      passwordRequired: { anonymous: policy.anonymousPasswordRequired },
      shareRules: { anonymous: rulesFor(policy, null), user: rulesFor(policy, { role: 'user' }), admin: rulesFor(policy, { role: 'admin' }) },
    }
    res.json(body)
  })

  // --- browser uploads: create, state (resume), sign parts, list parts, complete, finalize
  r.post('/api/shares', async (req, res) => {
    const body = CreateShareRequest.parse(req.body)
    noStore(res)
    res.status(201).json(await uploads.create(req.viewer, body, baseUrl(config, req)))
  })

  r.post('/api/shares/:id/files/:fileId/parts', async (req, res) => {
    const { partNumbers } = SignPartsRequest.parse(req.body)
    noStore(res)
    res.json(await uploads.signParts(proof(req), shareId(req), fileId(req), partNumbers, baseUrl(config, req)))
  })

  r.get('/api/shares/:id/upload', async (req, res) => {
    noStore(res)
    res.json(await uploads.state(proof(req), shareId(req)))
  })

  r.get('/api/shares/:id/files/:fileId/parts', async (req, res) => {
    noStore(res)
    res.json(await uploads.listParts(proof(req), shareId(req), fileId(req)))
  })

  r.post('/api/shares/:id/files/:fileId/complete', async (req, res) => {
    const { parts } = CompleteFileRequest.parse(req.body ?? {})
    res.json(await uploads.completeFile(proof(req), shareId(req), fileId(req), parts))
  })

  r.post('/api/shares/:id/finalize', async (req, res) => {
    res.json(await uploads.finalize(proof(req), shareId(req), baseUrl(config, req)))
  })

  // --- curl uploads: at most config.uploads.streamConcurrency stream at once on this instance
  r.post('/api/upload', streamSlots.gate, async (req, res) => {
    if (!req.is('multipart/form-data')) throw new AppError('unsupported_media_type', 'Send multipart/form-data with a field named "file" (curl -F file=@name).')
    const upload = multipartFiles(req)
    const { fields, first } = await upload.early
    if (!first) throw new AppError('invalid_input', 'file: no file was sent (curl -F file=@name).')
    // Fields before the first file are checked before a byte is stored; those after it, before
    // the share becomes downloadable.
    const options = ShareOptionsFromStrings.parse(fields)
    async function* files(): AsyncIterable<StreamedFile> {
      yield first!
      yield* upload.rest
    }
    const finalOptions = () => (Object.keys(upload.lateFields).length > 0 ? ShareOptionsFromStrings.parse({ ...fields, ...upload.lateFields }) : options)
    const result = await streamUploads.uploadStream(req.viewer, { options, files: files(), finalOptions, clientGone: clientGone(req) }, baseUrl(config, req))
    noStore(res)
    uploaded(req, res, result)
  })

  // `curl -T file URL/` appends the file's name; `-T -` (a pipe) and `-T /dev/null` give none or
  // "null", which gets a dated default name instead.
  const rawUpload = async (req: Request, res: Response) => {
    const contentType = req.get('content-type')?.split(';')[0]?.trim() || 'application/octet-stream'
    const given = typeof req.params.filename === 'string' ? req.params.filename : ''
    const name = given === '' || given === '-' || given === 'null' ? defaultName(contentType) : given
    if (name.length > MAX_FILE_NAME_LENGTH) throw new AppError('invalid_input', `The file name is too long (at most ${MAX_FILE_NAME_LENGTH} characters).`)
    const options = ShareOptionsFromStrings.parse(req.query)
    const declared = contentLength(req)
    const policyMax = limitsFor(await deps.settings.policy(), req.viewer).maxFileSize
    if (declared !== null && declared > policyMax) throw new AppError('too_large', `Files may be at most ${sizeInWords(policyMax)}.`)
    const file: StreamedFile = { name, contentType, body: req, declaredSize: declared }
    async function* files(): AsyncIterable<StreamedFile> {
      yield file
    }
    noStore(res)
    uploaded(req, res, await streamUploads.uploadStream(req.viewer, { options, files: files(), clientGone: clientGone(req) }, baseUrl(config, req)))
  }
  r.put('/api/upload/:filename', streamSlots.gate, rawUpload)
  r.put('/api/upload', streamSlots.gate, rawUpload)

  // --- recipients
  r.get('/api/shares/:id', async (req, res) => {
    noStore(res)
    res.json(await downloads.metadata(shareId(req), sharePassword(req), req.viewer))
  })

  // GET: 302 to the file (presigned, or under a lease for a limited share); POST: the same as JSON for
  // the web app; HEAD: what a link checker needs, counting and leasing nothing.
  const download = (single: boolean) => async (req: Request, res: Response) => {
    const id = shareId(req)
    const file = single ? null : fileId(req)
    noStore(res)
    if (req.method === 'HEAD') {
      await send(res, await downloads.describe(id, file, sharePassword(req), req.viewer))
    } else if (req.method === 'POST') {
      const { password, lease } = DownloadRequest.parse(req.body ?? {})
      res.json(await downloads.issueDownload(id, file, { password: password ?? sharePassword(req), lease: lease ?? leaseHeader(req) }, req.viewer, baseUrl(config, req)))
    } else {
      const { url } = await downloads.issueDownload(id, file, { password: sharePassword(req), lease: leaseHeader(req) }, req.viewer, baseUrl(config, req))
      res.redirect(302, url)
    }
  }
  for (const [path, single] of [['/api/shares/:id/download', true], ['/api/shares/:id/files/:fileId/download', false]] as const) {
    r.head(path, download(single))
    r.get(path, download(single))
    r.post(path, download(single))
  }

  /** A body the app streams itself is watched like every such download (progress, stalls, stop). */
  async function sendStreamed(req: Request, res: Response, answer: FileResponse): Promise<void> {
    if (!answer.body || !answer.transfer) return send(res, answer)
    res.status(answer.status)
    for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value)
    await deps.monitor.send(req, res, answer.body, answer.transfer)
  }

  // The bytes of a file streamed by the app (GET and HEAD): a limited share's under the lease in the
  // URL, an unlimited direct share's under the app's signature.
  r.get('/api/shares/:id/files/:fileId/content', async (req, res) => {
    const access = FileContentQuery.parse(req.query)
    noStore(res)
    const answer = await downloads.streamContent({
      shareId: shareId(req),
      fileId: fileId(req),
      access,
      head: req.method === 'HEAD',
      range: (size) => requestedRange(req, size),
      ifRange: req.get('if-range'),
      viewer: req.viewer,
    })
    await sendStreamed(req, res, answer)
  })

  // --- "Download all": the share as one zip. GET: 302 to its URL; POST: the same as JSON; HEAD: name and size.
  r.head('/api/shares/:id/zip', async (req, res) => {
    noStore(res)
    await send(res, await zips.describe(shareId(req), sharePassword(req), req.viewer))
  })
  r.get('/api/shares/:id/zip', async (req, res) => {
    noStore(res)
    const { url } = await zips.issue(shareId(req), { password: sharePassword(req), lease: leaseHeader(req) }, req.viewer, baseUrl(config, req))
    res.redirect(302, url)
  })
  r.post('/api/shares/:id/zip', async (req, res) => {
    const { password, lease } = ZipRequest.parse(req.body ?? {})
    noStore(res)
    res.json(await zips.issue(shareId(req), { password: password ?? sharePassword(req), lease: lease ?? leaseHeader(req) }, req.viewer, baseUrl(config, req)))
  })
  // The zip's bytes, streamed by the app (GET and HEAD), under a lease or a signature.
  r.get('/api/shares/:id/zip/content', async (req, res) => {
    const access = ZipContentQuery.parse(req.query)
    noStore(res)
    const answer = await zips.stream({
      shareId: shareId(req),
      access,
      head: req.method === 'HEAD',
      range: (size) => requestedRange(req, size),
      ifRange: req.get('if-range'),
      viewer: req.viewer,
    })
    await sendStreamed(req, res, answer)
  })

  // --- previews: never counted (a grant, then its bytes with Range)
  r.post('/api/shares/:id/files/:fileId/preview', async (req, res) => {
    const { password } = PreviewRequest.parse(req.body ?? {})
    noStore(res)
    res.json(await previews.grant(shareId(req), fileId(req), password ?? sharePassword(req), req.viewer, baseUrl(config, req)))
  })
  r.get('/api/shares/:id/files/:fileId/preview', async (req, res) => {
    const q = PreviewContentQuery.parse(req.query)
    const answer = await previews.content({
      shareId: shareId(req),
      fileId: fileId(req),
      ...q,
      head: req.method === 'HEAD',
      range: (size) => requestedRange(req, size),
      viewer: req.viewer,
    })
    await send(res, answer)
  })

  // --- text-only shares: create; reveal (counts one download; HEAD does not)
  r.post('/api/texts', async (req, res) => {
    const body = CreateTextRequest.parse(req.body)
    noStore(res)
    res.status(201).json(await texts.create(req.viewer, body, baseUrl(config, req)))
  })
  r.head('/api/shares/:id/text', async (req, res) => {
    noStore(res)
    const meta = await downloads.metadata(shareId(req), sharePassword(req), req.viewer)
    if (meta.kind !== 'text') throw shareNotFound()
    res.status(meta.passwordRequired && !meta.files ? 401 : 200).end()
  })
  r.get('/api/shares/:id/text', async (req, res) => {
    noStore(res)
    const revealed = await texts.reveal(shareId(req), sharePassword(req), req.viewer)
    if ('sealedText' in revealed) {
      res.json(revealed)
      return
    }
    // As text, never as anything a browser would render.
    res.setHeader('Content-Type', 'text/plain; charset=utf-8')
    res.setHeader('X-Content-Type-Options', 'nosniff')
    res.setHeader('Content-Security-Policy', 'sandbox')
    res.send(revealed.text)
  })
  r.post('/api/shares/:id/text', async (req, res) => {
    const { password } = RevealTextRequest.parse(req.body ?? {})
    noStore(res)
    res.json(await texts.reveal(shareId(req), password ?? sharePassword(req), req.viewer))
  })

  r.delete('/api/shares/:id', async (req, res) => {
    await deletion.delete(proof(req), shareId(req))
    res.status(204).end()
  })

  return r
}

/** Status, headers and body of a file answer. A client that goes away mid-download is not an error. */
async function send(res: Response, answer: FileResponse): Promise<void> {
  res.status(answer.status)
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value)
  if (!answer.body) {
    res.end()
    return
  }
  try {
    await pipeline(answer.body, res)
  } catch (err) {
    if (!res.headersSent) throw err
    res.destroy()
  }
}

/** Whether the client went away before its body was complete (then a failure is not ours). */
function clientGone(req: Request): () => boolean {
  let gone = false
  req.once('close', () => {
    if (!req.complete) gone = true
  })
  return () => gone
}

/**
 * A curl upload's answer, for shells: JSON ending with a newline, or only the link's page URL and a
 * newline with `?format=url` or `Accept: text/plain` (`url=$(curl -fsT f "…?format=url")`).
 */
function uploaded(req: Request, res: Response, result: { url: string }): void {
  res.status(201)
  if (req.query.format === 'url' || req.accepts(['application/json', 'text/plain']) === 'text/plain') {
    res.type('text/plain').send(`${result.url}\n`)
  } else {
    res.type('application/json').send(`${JSON.stringify(result)}\n`)
  }
}

/** "upload-2026-11-21-0802.bin": a name for a body sent without one. */
function defaultName(contentType: string): string {
  const stamp = new Date().toISOString().slice(0, 16).replace('T', '-').replace(':', '')
  const ext = contentType === 'application/octet-stream' ? 'bin' : extension(contentType) || 'bin'
  return `upload-${stamp}.${ext}`
}

function contentLength(req: Request): number | null {
  const value = req.get('content-length')
  return value && /^\d+$/.test(value) ? Number(value) : null
}
