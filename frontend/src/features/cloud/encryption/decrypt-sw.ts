import { DecryptError, decryptStream, ShareKey, type Bytes } from '@sharesync/crypto'
import { takeOverAtOnce } from '../../../lib/download-worker'
import { DOWNLOAD_ID, type DecryptFailureReason, type DecryptReply, type DecryptRequest } from './decrypt-protocol'

/**
 * The decrypting download service worker: an encrypted file goes from the server through here
 * straight into the browser's downloads. The worker fetches the ciphertext itself, decrypts it record
 * by record and answers the download's request with the plaintext stream, so no byte crosses to or
 * from the page (that hop, one copy per message, cost the page-side path most of its speed).
 * Registered with a narrow scope (`…/e2e-dl/`), so it only ever answers its own download URLs.
 *
 * A record that does not verify, a file cut short or too long, a broken connection: the download's
 * stream errors (the browser marks the download failed, never complete) and the page hears why.
 * Only after the last record verified does the stream end. The page learns progress as counts.
 */
const sw = self as unknown as ServiceWorkerGlobalScope

const PROGRESS_MS = 200
/** Plaintext read ahead of the browser's download writer. */
const READ_AHEAD = 8 * 1024 * 1024

interface Pending {
  port: MessagePort
  request: DecryptRequest
}

const pending = new Map<string, Pending>()

takeOverAtOnce(sw)

const valid = (d: Partial<DecryptRequest> | null): d is DecryptRequest =>
  d?.type === 'e2e-download' &&
  typeof d.id === 'string' &&
  DOWNLOAD_ID.test(d.id) &&
  typeof d.url === 'string' &&
  d.ikm instanceof Uint8Array &&
  Number.isInteger(d.index) &&
  Number.isSafeInteger(d.encryptedSize) &&
  Number.isSafeInteger(d.size) &&
  typeof d.name === 'string' &&
  typeof d.mime === 'string'

sw.addEventListener('message', (event) => {
  // A keep-alive needs no answer: receiving it is what keeps this worker running.
  const data = event.data as Partial<DecryptRequest> | null
  const port = event.ports[0]
  if (!port || !valid(data)) return
  pending.set(data.id, { port, request: data })
  const reply: DecryptReply = { type: 'registered' }
  port.postMessage(reply)
})

sw.addEventListener('fetch', (event) => {
  const match = /\/e2e-dl\/([A-Za-z0-9_-]{1,80})\//.exec(new URL(event.request.url).pathname)
  if (!match) return
  const entry = pending.get(match[1]!)
  if (!entry) {
    event.respondWith(new Response('This download is no longer available.', { status: 404, headers: { 'Content-Type': 'text/plain' } }))
    return
  }
  pending.delete(match[1]!)
  event.respondWith(decrypting(entry))
})

async function decrypting({ port, request }: Pending): Promise<Response> {
  const post = (msg: DecryptReply) => port.postMessage(msg)
  const fail = (reason: DecryptFailureReason) => post({ type: 'failed', reason })
  // Nothing to download: the iframe's answer is empty, so no download starts.
  const nothing = () => new Response(null, { status: 204 })
  post({ type: 'started' })
  const abort = new AbortController()
  let res: Response
  try {
    res = await fetch(request.url, { credentials: 'omit', cache: 'no-store', signal: abort.signal })
  } catch (err) {
    fail({ kind: 'network', message: err instanceof Error ? err.message : String(err) })
    return nothing()
  }
  if (!res.ok || !res.body) {
    fail({ kind: 'server', status: res.status })
    return nothing()
  }
  let key
  try {
    key = await ShareKey.fromIkm(request.ikm, null).fileKey(request.index)
  } catch (err) {
    abort.abort()
    fail({ kind: 'network', message: err instanceof Error ? err.message : String(err) })
    return nothing()
  }
  const plain = res.body.pipeThrough(decryptStream(key, { expectedSize: request.encryptedSize })).getReader()
  let done = 0
  let reported = performance.now()
  let settled = false
  const body = new ReadableStream<Bytes>(
    {
      async pull(controller) {
        try {
          const next = await plain.read()
          if (next.done) {
            settled = true
            controller.close()
            post({ type: 'done', done })
            return
          }
          controller.enqueue(next.value)
          done += next.value.byteLength
          const now = performance.now()
          if (now - reported >= PROGRESS_MS) {
            reported = now
            post({ type: 'progress', done })
          }
        } catch (err) {
          if (settled) return
          settled = true
          // Erroring (not closing) the stream is what makes the browser fail the download.
          controller.error(err)
          abort.abort()
          fail(err instanceof DecryptError ? { kind: 'tampered', failure: err.kind } : { kind: 'network', message: err instanceof Error ? err.message : String(err) })
        }
      },
      cancel() {
        // The person cancelled the download in the browser.
        if (settled) return
        settled = true
        abort.abort()
        void plain.cancel().catch(() => undefined)
        fail({ kind: 'cancelled' })
      },
    },
    { highWaterMark: READ_AHEAD, size: (chunk) => chunk.byteLength },
  )
  return new Response(body, {
    headers: {
      'Content-Type': request.mime || 'application/octet-stream',
      'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(request.name)}`,
      'Content-Length': String(request.size),
      'X-Content-Type-Options': 'nosniff',
    },
  })
}
