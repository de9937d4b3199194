import { takeOverAtOnce } from '../../../lib/download-worker'

/**
 * The streaming-download service worker: where OPFS is missing (or full), a received file streams
 * through here into the browser's own download manager — never whole in memory. Registered with a
 * narrow scope (`…/p2p-dl/`), so it only ever answers its own download URLs.
 *
 * Protocol with the page, per file: the page posts `{ type: 'p2p-download', id, name, size, mime }`
 * with a MessagePort; the worker answers 'registered'; the page opens `p2p-dl/<id>/download` in a
 * hidden iframe (the name travels in Content-Disposition, never in a URL); then it posts ArrayBuffers
 * (or arrays of them). The worker answers each message with 'ok' once its stream wants more (that is
 * the backpressure; a sender may have several messages on their way), and finally the page posts
 * 'end' (or 'abort', which fails the download).
 */
const sw = self as unknown as ServiceWorkerGlobalScope

interface Pending {
  port: MessagePort
  name: string
  size: number
  type: string
}

const pending = new Map<string, Pending>()

takeOverAtOnce(sw)

sw.addEventListener('message', (event) => {
  const data = event.data as { type?: unknown; id?: unknown; name?: unknown; size?: unknown; mime?: unknown } | null
  const port = event.ports[0]
  if (data?.type !== 'p2p-download' || !port || typeof data.id !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(data.id)) return
  pending.set(data.id, {
    port,
    name: typeof data.name === 'string' ? data.name : 'download',
    size: typeof data.size === 'number' ? data.size : -1,
    type: typeof data.mime === 'string' && data.mime ? data.mime : 'application/octet-stream',
  })
  port.postMessage('registered')
})

sw.addEventListener('fetch', (event) => {
  const match = /\/p2p-dl\/([A-Za-z0-9_-]{1,80})\//.exec(new URL(event.request.url).pathname)
  if (!match) return
  const entry = pending.get(match[1]!)
  if (!entry) {
    event.respondWith(new Response('This download is no longer available.', { status: 404, headers: { 'Content-Type': 'text/plain' } }))
    return
  }
  pending.delete(match[1]!)
  const { port } = entry
  // Messages answered only once the stream wants more (a sender may have several on their way).
  let owed = 0
  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        port.onmessage = (msg: MessageEvent) => {
          const data: unknown = msg.data
          if (data === 'end') return controller.close()
          if (data === 'abort') return controller.error(new Error('the transfer stopped'))
          // One buffer, or several in order (transferred as they are, without joining them first).
          const buffers = Array.isArray(data) ? data.filter((b): b is ArrayBuffer => b instanceof ArrayBuffer) : data instanceof ArrayBuffer ? [data] : []
          if (buffers.length === 0) return
          for (const b of buffers) controller.enqueue(new Uint8Array(b))
          if ((controller.desiredSize ?? 0) > 0) port.postMessage('ok')
          else owed++
        }
      },
      pull() {
        for (; owed > 0; owed--) port.postMessage('ok')
      },
      cancel() {
        // The person cancelled the download in the browser.
        port.postMessage('cancelled')
      },
    },
    { highWaterMark: 16 * 1024 * 1024, size: (chunk) => chunk.byteLength },
  )
  const headers: Record<string, string> = {
    'Content-Type': entry.type,
    'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(entry.name)}`,
    'X-Content-Type-Options': 'nosniff',
  }
  if (entry.size >= 0) headers['Content-Length'] = String(entry.size)
  event.respondWith(new Response(stream, { headers }))
})
