import { get as httpGet, type IncomingMessage } from 'node:http'
import { get as httpsGet } from 'node:https'
import { text } from 'node:stream/consumers'
import { CliError, EXIT, exitCodeOfStatus } from './exit-codes'

export interface Client {
  server: string
  token: string | undefined
  /** a JSON API call; throws CliError with the server's message on an error answer */
  json<T>(method: string, path: string, opts?: { body?: unknown; headers?: Record<string, string> }): Promise<T>
  /** a raw request (downloads, part uploads); network failures become CliError */
  raw(url: string, init?: RequestInit): Promise<Response>
  /**
   * A GET whose body is a Node stream (node:http, no web streams in between: the fast path for big
   * downloads). A non-2xx answer becomes the server's CliError.
   */
  download(url: string, headers?: Record<string, string>): Promise<{ status: number; body: IncomingMessage }>
}

export function serverUrl(given: string | undefined): string {
  const value = given ?? process.env.SHARESYNC_URL
  if (!value) throw new CliError(EXIT.usage, 'No server: pass --server URL or set SHARESYNC_URL.')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new CliError(EXIT.usage, `Not a URL: ${value}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(EXIT.usage, `Not an http(s) URL: ${value}`)
  return url.origin + url.pathname.replace(/\/+$/, '')
}

async function errorOf(res: Response): Promise<CliError> {
  const text = await res.text().catch(() => '')
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } }
    if (body.error?.message) return new CliError(exitCodeOfStatus(res.status), `${body.error.message} (${res.status} ${body.error.code ?? ''})`.trim(), body.error.code)
  } catch {
    // not JSON: fall through
  }
  return new CliError(exitCodeOfStatus(res.status), `The server answered ${res.status} ${res.statusText}.`)
}

export function createClient(server: string, token: string | undefined): Client {
  const raw = async (url: string, init: RequestInit = {}) => {
    try {
      return await fetch(url, init)
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause
      throw new CliError(EXIT.unavailable, `Cannot reach ${new URL(url).origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`)
    }
  }
  const download = (url: string, headers: Record<string, string> = {}, redirects = 5): Promise<{ status: number; body: IncomingMessage }> =>
    new Promise((resolve, reject) => {
      const get = url.startsWith('https:') ? httpsGet : httpGet
      const req = get(url, { headers }, (res) => {
        const status = res.statusCode ?? 0
        if (status >= 200 && status < 300) return resolve({ status, body: res })
        const location = res.headers.location
        if ([301, 302, 303, 307, 308].includes(status) && location && redirects > 0) {
          res.resume()
          const next = new URL(location, url)
          if (next.protocol !== 'http:' && next.protocol !== 'https:') return reject(new CliError(EXIT.failure, `Refusing a redirect to ${next.protocol}`))
          return download(next.toString(), headers, redirects - 1).then(resolve, reject)
        }
        text(res).then(
          (body) => errorOf(new Response(body, { status, statusText: res.statusMessage })).then(reject, reject),
          reject,
        )
      })
      req.on('error', (err: NodeJS.ErrnoException) => reject(new CliError(EXIT.unavailable, `Cannot reach ${new URL(url).origin}: ${err.code ?? err.message}`)))
    })
  return {
    server,
    token,
    raw,
    download,
    async json<T>(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}): Promise<T> {
      const headers: Record<string, string> = { accept: 'application/json', ...opts.headers }
      if (token) headers.authorization = `Bearer ${token}`
      if (opts.body !== undefined) headers['content-type'] = 'application/json'
      const res = await raw(`${server}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) })
      if (!res.ok) throw await errorOf(res)
      if (res.status === 204) return undefined as T
      return (await res.json()) as T
    },
  }
}

export { errorOf }
