import { Router } from 'express'
import type { Deps } from '../deps'
import { openApiDocument } from './openapi'

/** GET /api/openapi.json: the OpenAPI 3.1 document, generated once from the protocol's route table. */
export function openApiRouter(deps: Pick<Deps, 'config'>): Router {
  const r = Router()
  let body: string | null = null
  r.get('/api/openapi.json', (_req, res) => {
    body ??= JSON.stringify(openApiDocument({ version: '0.1.0', serverUrl: deps.config.publicUrl }))
    res.setHeader('Cache-Control', 'public, max-age=300')
    res.type('application/json').send(body)
  })
  return r
}
