/** The web app's upload protocol, spoken by a test: create the share, PUT its parts, complete, finalize. */
import { expect } from 'vitest'

export interface UploadFile {
  name: string
  bytes: Uint8Array
  type?: string
  path?: string
}

export interface Uploaded {
  id: string
  ownerToken: string
  files: { id: string; name: string }[]
}

/** An answer's JSON: whatever the route sends, with the error shape every route shares. */
export type ApiBody = Record<string, unknown> & { error?: { code: string; message: string } }

/** `fetch` relative to a server, with JSON in and out. */
export type Api = <T = ApiBody>(path: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }) => Promise<{ status: number; body: T }>

export function apiOf(baseUrl: string, fetcher: typeof fetch = fetch): Api {
  return async <T>(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
    const res = await fetcher(`${baseUrl}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { 'content-type': 'application/json', ...(init.headers ?? {}) },
      body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
    })
    const text = await res.text()
    let body: unknown = text
    try {
      body = text ? JSON.parse(text) : null
    } catch {
      // not JSON: the raw text
    }
    return { status: res.status, body: body as T }
  }
}

/**
 * Uploads files as the web app does and finalizes the share. `extra`: options of the create request;
 * `createPath`: where the upload starts (a file request's `/api/requests/:id/uploads`).
 */
export async function uploadShare(api: Api, files: UploadFile[], extra: Record<string, unknown> = {}, createPath = '/api/shares'): Promise<Uploaded> {
  const created = await api<{ id: string; ownerToken: string; files: { id: string; name: string; partSize: number; partCount: number }[] }>(createPath, {
    body: { files: files.map((f) => ({ name: f.name, size: f.bytes.length, type: f.type ?? 'application/octet-stream', ...(f.path !== undefined ? { path: f.path } : {}) })), ...extra },
  })
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  const { id, ownerToken } = created.body
  const owner = { 'x-owner-token': ownerToken }
  const declared = created.body.files
  for (const [i, f] of declared.entries()) {
    const bytes = files[i]!.bytes
    const parts: { partNumber: number; etag: string }[] = []
    if (f.partCount > 0) {
      const numbers = Array.from({ length: f.partCount }, (_, n) => n + 1)
      const signed = (await api<{ parts: { partNumber: number; url: string }[] }>(`/api/shares/${id}/files/${f.id}/parts`, { body: { partNumbers: numbers }, headers: owner })).body.parts
      for (const p of signed) {
        const res = await fetch(p.url, { method: 'PUT', body: Buffer.from(bytes.subarray((p.partNumber - 1) * f.partSize, p.partNumber * f.partSize)) })
        expect(res.status).toBe(200)
        parts.push({ partNumber: p.partNumber, etag: res.headers.get('etag')! })
      }
    }
    const done = await api(`/api/shares/${id}/files/${f.id}/complete`, { body: { parts }, headers: owner })
    expect(done.status, JSON.stringify(done.body)).toBe(200)
  }
  const fin = await api(`/api/shares/${id}/finalize`, { body: {}, headers: owner })
  expect(fin.status, JSON.stringify(fin.body)).toBe(200)
  return { id, ownerToken, files: declared.map((f) => ({ id: f.id, name: f.name })) }
}
