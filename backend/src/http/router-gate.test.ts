import type { AddressInfo } from 'node:net'
import express, { Router } from 'express'
import { describe, expect, it } from 'vitest'
import { gatedRouter, routerPrefixes } from './router-gate'

describe('router gate', () => {
  it('reads the literal start of every route and mounted middleware, lower-cased', () => {
    const r = Router()
    r.get('/api/Shares/:id/download', (_req, res) => res.end())
    r.post('/api/blobs/o/*key', (_req, res) => res.end())
    r.use('/api/admin', (_req, _res, next) => next())
    r.get(['/api/me/tokens', '/api/me/tokens/:id'], (_req, res) => res.end())
    expect(routerPrefixes(r)?.sort()).toEqual(['/api/admin', '/api/blobs/o/', '/api/me/tokens', '/api/me/tokens/', '/api/shares/'])
  })

  it('always enters a router that may answer any path (middleware without a path, a regular expression, a parameter first)', () => {
    const anyPath = Router()
    anyPath.use((_req, _res, next) => next())
    const regex = Router()
    regex.get(/^\/x/, (_req, res) => res.end())
    const param = Router()
    param.get('/:anything', (_req, res) => res.end())
    for (const r of [anyPath, regex, param]) {
      expect(routerPrefixes(r)).toBeNull()
      expect(gatedRouter(r)).toBe(r)
    }
  })

  it('routes exactly as Express does: mixed case, trailing slash, a later router, an unknown path', async () => {
    const first = Router()
    first.get('/api/health', (_req, res) => res.send('health'))
    const second = Router()
    second.get('/api/shares/:id', (req, res) => res.send(`share ${String(req.params.id)}`))
    const app = express()
    app.use(gatedRouter(first))
    app.use(gatedRouter(second))
    app.use((_req, res) => res.status(404).send('none'))
    const server = app.listen(0, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const text = async (path: string) => `${(await fetch(base + path)).status} ${await (await fetch(base + path)).text()}`
      expect(await text('/api/health')).toBe('200 health')
      expect(await text('/API/Health/')).toBe('200 health')
      expect(await text('/api/shares/abc')).toBe('200 share abc')
      expect(await text('/Api/SHARES/abc')).toBe('200 share abc')
      expect(await text('/api/sharesx')).toBe('404 none')
      expect(await text('/api/other')).toBe('404 none')
    } finally {
      server.close()
    }
  })

  it('keeps the router stack readable for what lists the app routes', () => {
    const r = Router()
    r.get('/api/x', (_req, res) => res.end())
    expect(gatedRouter(r).stack).toBe(r.stack)
  })
})
