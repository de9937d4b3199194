/* ShareSync service worker: app-shell cache and the Web Share Target.
 * Plain JavaScript on purpose: it is served as-is from the site root so its scope is the whole app.
 * It never touches /api/ requests, part uploads or downloads: those always go to the network. */
const SHELL_CACHE = 'sharesync-shell-v1'
const SHELL = ['/', '/manifest.webmanifest', '/icon-192.png', '/icon-512.png']
// Keep in sync with src/lib/share-target.ts
const SHARE_DB = 'sharesync-share-target'
const SHARE_STORE = 'files'

/* Requests this worker never answers go straight to the network, without a fetch event (the
 * static routing API, where the browser has it). This is not only speed: a fetch event's request
 * keeps its body alive in this worker until the worker collects garbage, which an idle worker
 * hardly ever does — every part an encrypted upload PUT (a Blob in memory) stayed in the browser's
 * memory for as long as the worker lived (1 GiB for a 1 GiB upload). */
const NETWORK_ROUTES = [
  { condition: { requestMethod: 'PUT' }, source: 'network' },
  { condition: { urlPattern: { pathname: '/api/*' } }, source: 'network' },
  { condition: { urlPattern: { pathname: '/socket.io/*' } }, source: 'network' },
]

self.addEventListener('install', (event) => {
  // A browser that does not know a rule refuses it: the fetch handler below then still lets it pass.
  const routes = typeof event.addRoutes === 'function' ? NETWORK_ROUTES.map((rule) => event.addRoutes(rule).catch(() => undefined)) : []
  event.waitUntil(
    Promise.all([
      ...routes,
      caches
        .open(SHELL_CACHE)
        .then((cache) => cache.addAll(SHELL))
        .then(() => self.skipWaiting()),
    ]),
  )
})

/* Whether this browser routes those requests past this worker: a page asks before it uploads
 * parts it made in memory. Where it cannot (Firefox ESR), every intercepted PUT body stays in the
 * browser's memory while this worker lives, so the page stages such parts in a file first (a body
 * read from a file is not kept). */
self.addEventListener('message', (event) => {
  if (event.data?.type !== 'static-routes?' || !event.ports[0]) return
  event.ports[0].postMessage({ staticRoutes: typeof InstallEvent !== 'undefined' && typeof InstallEvent.prototype.addRoutes === 'function' })
})

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('sharesync-shell-') && k !== SHELL_CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  )
})

function openShareDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(SHARE_DB, 1)
    req.onupgradeneeded = () => req.result.createObjectStore(SHARE_STORE, { autoIncrement: true })
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })
}

async function storeSharedFiles(files) {
  const db = await openShareDb()
  await new Promise((resolve, reject) => {
    const tx = db.transaction(SHARE_STORE, 'readwrite')
    const store = tx.objectStore(SHARE_STORE)
    store.clear()
    for (const file of files) store.add(file)
    tx.oncomplete = resolve
    tx.onerror = () => reject(tx.error)
  })
  db.close()
}

/** POST /share-target from the phone's share sheet: keep the files, open the upload page with them. */
async function handleShareTarget(request) {
  try {
    const form = await request.formData()
    const files = form.getAll('files').filter((f) => typeof f === 'object' && f !== null && 'size' in f)
    if (files.length) await storeSharedFiles(files)
  } catch {
    // An unreadable share still opens the app; the user can pick the files by hand.
  }
  return Response.redirect('/?share-target=1', 303)
}

self.addEventListener('fetch', (event) => {
  const req = event.request
  const url = new URL(req.url)
  if (url.origin !== self.location.origin) return
  if (req.method === 'POST' && url.pathname === '/share-target') {
    event.respondWith(handleShareTarget(req))
    return
  }
  if (req.method !== 'GET' || url.pathname.startsWith('/api/') || url.pathname.startsWith('/socket.io/')) return

  if (req.mode === 'navigate') {
    // Network first (fresh index.html after a deploy), the cached shell when offline.
    event.respondWith(
      fetch(req)
        .then((res) => {
          if (res.ok) {
            const copy = res.clone()
            caches.open(SHELL_CACHE).then((c) => c.put('/', copy))
          }
          return res
        })
        .catch(() => caches.match('/').then((r) => r || Response.error())),
    )
    return
  }
  if (url.pathname.startsWith('/assets/')) {
    // Hashed file names never change: cache first.
    event.respondWith(
      caches.match(req).then(
        (hit) =>
          hit ||
          fetch(req).then((res) => {
            if (res.ok) {
              const copy = res.clone()
              caches.open(SHELL_CACHE).then((c) => c.put(req, copy))
            }
            return res
          }),
      ),
    )
  }
})
