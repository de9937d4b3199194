import { CreateTokenRequest, TokenId, type TokensResponse } from '@sharesync/protocol'
import express from 'express'
import { requireUser } from '../auth/session.middleware'
import { AppError } from '../http/app-error'
import type { TokenService } from './token.service'

/** The signed-in user's API tokens (the browser session only: the route table refuses tokens here). */
export function tokensRouter(tokens: TokenService): express.Router {
  const router = express.Router()

  router.get('/api/me/tokens', async (req, res) => {
    const user = requireUser(req)
    res.setHeader('Cache-Control', 'no-store')
    const body: TokensResponse = { tokens: await tokens.list(user) }
    res.json(body)
  })

  router.post('/api/me/tokens', async (req, res) => {
    const user = requireUser(req)
    const created = await tokens.create(user, CreateTokenRequest.parse(req.body))
    res.setHeader('Cache-Control', 'no-store')
    res.status(201).json(created)
  })

  router.delete('/api/me/tokens/:id', async (req, res) => {
    const user = requireUser(req)
    const id = TokenId.safeParse(req.params.id)
    if (!id.success) throw new AppError('not_found', 'No such API token.')
    await tokens.revoke(user, id.data)
    res.status(204).end()
  })

  return router
}
