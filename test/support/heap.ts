/**
 * A page's JS memory, workers included: V8's used heap plus the ArrayBuffer backing stores
 * (`backingStorageSize`, where received chunks live), summed over the page and every dedicated
 * worker of its browser context. Read over the browser's CDP session: a worker has no page of its
 * own, so it is reached through Target.attachToTarget and messages sent to it.
 */
import type { Browser, CDPSession, Page } from 'playwright-core'

interface TargetInfo {
  targetId: string
  type: string
  url: string
  browserContextId?: string
}

interface HeapUsage {
  usedSize: number
  backingStorageSize?: number
}

export interface HeapSampler {
  /** the highest sum seen so far, in bytes (garbage not yet collected included, unless `live`) */
  peak(): number
  /** with `live`: the highest sum seen before each collection (what the page really held, garbage included) */
  peakRaw(): number
  stop(): Promise<number>
}

/**
 * `live`: collect garbage in each target before reading it, so the figure is what the page and its
 * workers still hold (what a bound on buffered chunks is about), not garbage V8 has not swept yet.
 */
export async function sampleHeap(browser: Browser, page: Page, opts: { everyMs?: number; live?: boolean } = {}): Promise<HeapSampler> {
  const everyMs = opts.everyMs ?? 200
  const cdp = await browser.newBrowserCDPSession()
  const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: TargetInfo[] }
  const self = targetInfos.find((t) => t.type === 'page' && t.url === page.url())
  const contextId = self?.browserContextId
  const sessions = new Map<string, string>()
  let nextId = 1
  const pending = new Map<number, (u: HeapUsage | null) => void>()
  cdp.on('Target.receivedMessageFromTarget', (e: { message: string }) => {
    const msg = JSON.parse(e.message) as { id?: number; result?: HeapUsage }
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result ?? null)
    if (msg.id !== undefined) pending.delete(msg.id)
  })
  const call = (sessionId: string, method: string) => {
    const id = nextId++
    const answer = new Promise<HeapUsage | null>((resolve) => {
      pending.set(id, resolve)
      setTimeout(() => resolve(null), 2000)
    })
    void cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method }) }).catch(() => undefined)
    return answer
  }
  const size = (u: HeapUsage | null) => (u ? u.usedSize + (u.backingStorageSize ?? 0) : 0)
  let raw = 0
  const usage = async (sessionId: string): Promise<number> => {
    if (!opts.live) return size(await call(sessionId, 'Runtime.getHeapUsage'))
    raw += size(await call(sessionId, 'Runtime.getHeapUsage'))
    await call(sessionId, 'HeapProfiler.collectGarbage')
    return size(await call(sessionId, 'Runtime.getHeapUsage'))
  }
  const attach = async (targetId: string) => {
    if (sessions.has(targetId)) return sessions.get(targetId)!
    const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId, flatten: false })) as { sessionId: string }
    sessions.set(targetId, sessionId)
    return sessionId
  }
  let peak = 0
  let peakRaw = 0
  let running = true
  const sample = async () => {
    const { targetInfos: now } = (await cdp.send('Target.getTargets')) as { targetInfos: TargetInfo[] }
    const mine = now.filter((t) => t.browserContextId === contextId && (t.type === 'worker' || t.targetId === self?.targetId))
    let sum = 0
    raw = 0
    for (const t of mine) sum += await usage(await attach(t.targetId)).catch(() => 0)
    peak = Math.max(peak, sum)
    peakRaw = Math.max(peakRaw, opts.live ? raw : sum)
  }
  // The first figure is there when this returns: a baseline to compare with.
  await sample()
  const loop = (async () => {
    while (running) {
      await new Promise((r) => setTimeout(r, everyMs))
      await sample()
    }
  })().catch(() => undefined)
  return {
    peak: () => peak,
    peakRaw: () => peakRaw,
    async stop() {
      running = false
      await loop
      await detach(cdp)
      return peak
    },
  }
}

async function detach(cdp: CDPSession) {
  await cdp.detach().catch(() => undefined)
}
