import decryptWorkerUrl from './decrypt-sw.ts?worker&url'
import { activeServiceWorker } from '../../../lib/download-worker'
import { safeName } from '../../p2p/engine/sinks'
import type { DecryptReply, DecryptRequest } from './decrypt-protocol'

/**
 * The page's side of the decrypting download service worker (decrypt-sw.ts): registers it under
 * its own narrow scope, hands it one file's download, and opens that download in a hidden iframe.
 */

const WORKER_SCOPE = () => new URL('./e2e-dl/', new URL(decryptWorkerUrl, window.location.href)).pathname

const activeWorker = () => activeServiceWorker(decryptWorkerUrl, WORKER_SCOPE())

/** Registers the download with the worker and starts it; the port then carries the worker's counts and outcome. */
export async function openDecryptingDownload(
  file: Omit<DecryptRequest, 'type' | 'mime'> & { type: string },
  onReply: (reply: DecryptReply) => void,
): Promise<{ worker: ServiceWorker; port: MessagePort }> {
  const worker = await activeWorker()
  const { port1, port2 } = new MessageChannel()
  const registered = new Promise<DecryptReply>((resolve) => (port1.onmessage = (e: MessageEvent<DecryptReply>) => resolve(e.data)))
  const request: DecryptRequest = {
    type: 'e2e-download',
    id: file.id,
    url: file.url,
    ikm: file.ikm,
    index: file.index,
    encryptedSize: file.encryptedSize,
    name: safeName(file.name),
    size: file.size,
    mime: file.type || 'application/octet-stream',
  }
  worker.postMessage(request, [port2])
  if ((await registered).type !== 'registered') throw new Error('service worker did not answer')
  port1.onmessage = (e: MessageEvent<DecryptReply>) => onReply(e.data)
  const frame = document.createElement('iframe')
  frame.hidden = true
  frame.title = 'download'
  // The URL carries no name (the worker names the file): no request from the page names a file.
  frame.src = `${WORKER_SCOPE()}${file.id}/download`
  document.body.appendChild(frame)
  // The iframe stays while the page is open: removing it early can cancel a stream in progress.
  return { worker, port: port1 }
}
