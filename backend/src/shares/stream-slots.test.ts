import { describe, expect, it } from 'vitest'
import { StreamSlots } from './stream-slots'

describe('stream slots: a cap on concurrent curl uploads', () => {
  it('under the cap every upload starts at once; over it, the next waits and gets the slot its predecessor releases', async () => {
    const slots = new StreamSlots(2, 10_000)
    const a = await slots.acquire()
    const b = await slots.acquire()
    let cStarted = false
    const c = slots.acquire().then((release) => {
      cStarted = true
      return release
    })
    await Promise.resolve()
    expect([slots.streaming, slots.waiting, cStarted]).toEqual([2, 1, false])
    a()
    const releaseC = await c
    expect([slots.streaming, slots.waiting, cStarted]).toEqual([2, 0, true])
    // Releasing twice frees one slot, not two.
    a()
    b()
    releaseC()
    releaseC()
    expect(slots.streaming).toBe(0)
  })

  it('a wait that lasts too long is refused with 429 server_busy and Retry-After, and leaves the queue', async () => {
    const slots = new StreamSlots(1, 30)
    const held = await slots.acquire()
    await expect(slots.acquire()).rejects.toMatchObject({ code: 'server_busy', status: 429, extra: { retryAfter: 1 } })
    expect(slots.waiting).toBe(0)
    held()
    expect(slots.streaming).toBe(0)
  })

  it('a client that goes away while queued leaves the queue and never takes a slot', async () => {
    const slots = new StreamSlots(1, 10_000)
    const held = await slots.acquire()
    const gone = new AbortController()
    const waiting = slots.acquire(gone.signal)
    gone.abort()
    await expect(waiting).rejects.toMatchObject({ code: 'server_busy' })
    expect(slots.waiting).toBe(0)
    held()
    expect(slots.streaming).toBe(0)
  })

  it('a full queue refuses at once instead of queueing without bound', async () => {
    const slots = new StreamSlots(1, 200, 2)
    await slots.acquire()
    const queued = [slots.acquire(), slots.acquire()]
    await expect(slots.acquire()).rejects.toMatchObject({ code: 'server_busy' })
    expect(slots.waiting).toBe(2)
    queued.forEach((p) => p.catch(() => undefined))
  })
})
