/**
 * The two narrow-scope download service workers (the P2P streaming download, the decrypting cloud
 * download) are registered, and take over, the same way: these are the page's and the worker's
 * halves of that, shared.
 */

/**
 * The active service worker of `url` under `scope`: registered if it is not yet, and waited for
 * until it has activated (a first registration installs it first).
 */
export async function activeServiceWorker(url: string, scope: string): Promise<ServiceWorker> {
  const reg = await navigator.serviceWorker.register(url, { scope, type: import.meta.env.DEV ? 'module' : 'classic' })
  if (reg.active) return reg.active
  const installing = reg.installing ?? reg.waiting
  if (!installing) throw new Error('no service worker')
  await new Promise<void>((resolve, reject) => {
    installing.addEventListener('statechange', () => {
      if (installing.state === 'activated') resolve()
      if (installing.state === 'redundant') reject(new Error('service worker failed'))
    })
  })
  return installing
}

/**
 * In a download worker: a new version replaces the old one at once, and controls its scope's
 * pages without a reload (a download frame opened right after registering must reach it).
 */
export function takeOverAtOnce(sw: ServiceWorkerGlobalScope): void {
  sw.addEventListener('install', () => {
    void sw.skipWaiting()
  })
  sw.addEventListener('activate', (event) => {
    event.waitUntil(sw.clients.claim())
  })
}
