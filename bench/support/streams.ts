import { randomBytes } from 'node:crypto'
import { request, type IncomingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

/**
 * `size` bytes streamed from one random 1 MiB block: a 2 GiB body without a 2 GiB buffer, and
 * cheap enough that the client does not become the bottleneck it is measuring.
 */
export function generatedBytes(size: number, blockSize = 2 ** 20): Readable {
  const block = randomBytes(blockSize)
  return Readable.from(
    (function* () {
      for (let left = size; left > 0; left -= blockSize) yield left >= blockSize ? block : block.subarray(0, left)
    })(),
    { objectMode: false },
  )
}

export interface HttpResult {
  status: number
  headers: IncomingHttpHeaders
  body: string
  /** request start to last response byte */
  ms: number
}

/** Streams a generated body (like `curl -T`), as the only thing on its connection. */
export function sendStream(method: 'PUT' | 'POST', url: string, size: number, headers: Record<string, string> = {}): Promise<HttpResult> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method,
      agent: false,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size), ...headers },
    })
    req.once('error', reject)
    req.once('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.once('error', reject)
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }))
    })
    // An early answer (413, 429) ends the upload: the response above is what counts.
    pipeline(generatedBytes(size), req).catch(() => undefined)
  })
}

/** JSON request/response with fetch, failing loudly on an unexpected status. */
export async function json<T>(url: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}, expect = [200, 201]): Promise<T> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  })
  const text = await res.text()
  if (!expect.includes(res.status)) throw new Error(`${init.method ?? 'GET'} ${url} -> ${res.status}: ${text.slice(0, 500)}`)
  return JSON.parse(text) as T
}

/** GETs a URL, following redirects like `curl -L`, and counts the body bytes without keeping them. */
export async function download(url: string, maxRedirects = 5): Promise<{ bytes: number; ms: number; redirects: number }> {
  const started = performance.now()
  let current = url
  for (let redirects = 0; redirects <= maxRedirects; redirects++) {
    const res = await getOnce(current)
    if (res.status >= 300 && res.status < 400 && res.location) {
      current = new URL(res.location, current).toString()
      continue
    }
    if (res.status !== 200) throw new Error(`GET ${current} -> ${res.status}`)
    return { bytes: res.bytes, ms: performance.now() - started, redirects }
  }
  throw new Error(`GET ${url}: too many redirects`)
}

function getOnce(url: string): Promise<{ status: number; location?: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', agent: false })
    req.once('error', reject)
    req.once('response', (res) => {
      let bytes = 0
      res.on('data', (c: Buffer) => (bytes += c.length))
      res.once('error', reject)
      res.once('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, bytes }))
    })
    req.end()
  })
}
