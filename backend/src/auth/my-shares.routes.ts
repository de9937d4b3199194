import { ClaimSharesRequest, ShareId, UpdateMyShareRequest, type ClaimSharesResponse, type MySharesResponse } from '@sharesync/protocol'
import express, { type Request } from 'express'
import type { Deps } from '../deps'
import { shareNotFound } from '../http/app-error'
import { baseUrl } from '../http/base-url'
import { ShareDeletion } from '../shares/deletion.service'
import { MySharesService } from './my-shares.service'
import { requireUser } from './session.middleware'

function shareId(req: Request): string {
  const parsed = ShareId.safeParse(req.params.id)
  if (!parsed.success) throw shareNotFound()
  return parsed.data
}

/**
 * "My shares" (signed in only):
 *   GET    /api/me/shares            -> { shares: MyShare[] }, newest first
 *   DELETE /api/me/shares/:id        -> 204 (blobs deleted too)
 *   PATCH  /api/me/shares/:id        -> { expiresAt } | { expiresIn } -> MyShare
 *   POST   /api/me/shares/claim      -> { shares: [{ id, ownerToken }] } -> { claimed: [ids] }
 */
export function mySharesRouter(deps: Deps, deletion = new ShareDeletion(deps)): express.Router {
  const router = express.Router()
  const service = new MySharesService(deps, deletion)

  router.get('/api/me/shares', async (req, res) => {
    const user = requireUser(req)
    res.setHeader('Cache-Control', 'no-store')
    const body: MySharesResponse = { shares: await service.list(user, baseUrl(deps.config, req)) }
    res.json(body)
  })

  router.post('/api/me/shares/claim', async (req, res) => {
    const user = requireUser(req)
    const body: ClaimSharesResponse = { claimed: await service.claim(user, ClaimSharesRequest.parse(req.body)) }
    res.json(body)
  })

  router.patch('/api/me/shares/:id', async (req, res) => {
    const user = requireUser(req)
    const id = shareId(req)
    res.json(await service.changeExpiry(user, id, UpdateMyShareRequest.parse(req.body), baseUrl(deps.config, req)))
  })

  router.delete('/api/me/shares/:id', async (req, res) => {
    const user = requireUser(req)
    await service.delete(user, shareId(req))
    res.status(204).end()
  })

  return router
}
