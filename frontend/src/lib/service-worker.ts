import { canUseServiceWorker } from './features'

/**
 * The service worker (public/sw.js) caches the app shell and receives the Web Share Target POST.
 * Only in a secure context: on a plain-http LAN address there is none, and the app works without it.
 */
export function registerServiceWorker(): void {
  if (!canUseServiceWorker() || import.meta.env.DEV) return
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => undefined)
  })
}
