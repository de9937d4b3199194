import { CreateFileRequest, CreateRequestUpload, ReceivedToShare, RequestId, ShareId, type FileRequestList } from '@sharesync/protocol'
import { Router, type Request, type Response } from 'express'
import type { Deps } from '../deps'
import { AppError } from '../http/app-error'
import { baseUrl } from '../http/base-url'
import { requireUser } from '../auth/session.middleware'
import { requestNotFound, type FileRequests } from './requests.service'

/** Malformed ids answer like unknown ones. */
function requestId(req: Request): string {
  const parsed = RequestId.safeParse(req.params.id)
  if (!parsed.success) throw requestNotFound()
  return parsed.data
}
function uploadId(req: Request): string {
  const parsed = ShareId.safeParse(req.params.uploadId)
  if (!parsed.success) throw new AppError('not_found', 'No upload with this id in this request.')
  return parsed.data
}

function noStore(res: Response) {
  res.setHeader('Cache-Control', 'no-store')
  res.setHeader('Referrer-Policy', 'no-referrer')
}

/**
 * File requests. The requester's (signed in): /api/me/requests…; the people asked: /api/requests/:id
 * (what the page shows) and /api/requests/:id/uploads (start an upload, then the share upload routes).
 */
export function requestsRouter(deps: Pick<Deps, 'config'>, requests: FileRequests): Router {
  const r = Router()
  const base = (req: Request) => baseUrl(deps.config, req)

  r.post('/api/me/requests', async (req, res) => {
    const user = requireUser(req)
    const body = CreateFileRequest.parse(req.body)
    noStore(res)
    res.status(201).json(await requests.create(user, body, base(req)))
  })

  r.get('/api/me/requests', async (req, res) => {
    const user = requireUser(req)
    noStore(res)
    const body: FileRequestList = { requests: await requests.list(user, base(req)) }
    res.json(body)
  })

  r.get('/api/me/requests/:id', async (req, res) => {
    const user = requireUser(req)
    noStore(res)
    res.json(await requests.get(user, requestId(req), base(req)))
  })

  r.delete('/api/me/requests/:id', async (req, res) => {
    const user = requireUser(req)
    await requests.close(user, requestId(req))
    res.status(204).end()
  })

  r.post('/api/me/requests/:id/uploads/:uploadId/share', async (req, res) => {
    const user = requireUser(req)
    const body = ReceivedToShare.parse(req.body ?? {})
    noStore(res)
    res.status(201).json(await requests.toShare(user, requestId(req), uploadId(req), body, base(req)))
  })

  r.delete('/api/me/requests/:id/uploads/:uploadId', async (req, res) => {
    const user = requireUser(req)
    await requests.removeUpload(user, requestId(req), uploadId(req))
    res.status(204).end()
  })

  r.get('/api/requests/:id', async (req, res) => {
    noStore(res)
    res.json(await requests.describe(requestId(req), req.get('x-request-password'), req.viewer))
  })

  r.post('/api/requests/:id/uploads', async (req, res) => {
    const body = CreateRequestUpload.parse(req.body)
    noStore(res)
    res.status(201).json(await requests.startUpload(req.viewer, requestId(req), body, base(req)))
  })

  return r
}
