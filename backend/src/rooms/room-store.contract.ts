import { describe, expect, it } from 'vitest'
import type { RoomRecord, RoomStore } from './room-store'

/** The behaviour every RoomStore must have, run against each implementation (memory, Redis). */
export function roomStoreContract(name: string, open: () => Promise<RoomStore>) {
  let n = 0
  const room = (over: Partial<RoomRecord> = {}): RoomRecord => {
    n += 1
    return { id: `room-${name}-${n}-${Date.now()}`, code: `C${String(n).padStart(5, '0')}`, secret: `secret-${name}-${n}-${Date.now()}-xxxxxxxx`, capacity: 3, createdAt: Date.now(), ...over }
  }

  describe(`${name} room store`, () => {
    it('finds a room by its code and by its link secret', async () => {
      const store = await open()
      const r = room()
      expect(await store.create(r, 60_000)).toBe(true)
      expect(await store.findByCode(r.code)).toEqual(r)
      expect(await store.findBySecret(r.secret)).toEqual(r)
      expect(await store.findByCode('NOPE00')).toBeNull()
      expect(await store.findBySecret('not-a-secret')).toBeNull()
    })

    it('refuses a code that a live room already holds', async () => {
      const store = await open()
      const first = room()
      expect(await store.create(first, 60_000)).toBe(true)
      expect(await store.create(room({ code: first.code }), 60_000)).toBe(false)
    })

    it('lets a code expire while the link keeps working', async () => {
      const store = await open()
      const r = room()
      await store.create(r, 300)
      const added = await store.addMember(r.id, 'p1', 300)
      expect(added.status).toBe('ok')
      await new Promise((res) => setTimeout(res, 450))
      expect(await store.findByCode(r.code)).toBeNull()
      expect(await store.findBySecret(r.secret)).toEqual(r)
      // An expired code may be drawn again by a new room.
      expect(await store.create(room({ code: r.code }), 60_000)).toBe(true)
    })

    it('admits members up to capacity, and a member again without using a seat', async () => {
      const store = await open()
      const r = room({ capacity: 2 })
      await store.create(r, 60_000)
      expect((await store.addMember(r.id, 'a', 60_000)).status).toBe('ok')
      expect((await store.addMember(r.id, 'b', 60_000)).status).toBe('ok')
      expect((await store.addMember(r.id, 'a', 60_000)).status).toBe('ok')
      expect(await store.addMember(r.id, 'c', 60_000)).toEqual({ status: 'full' })
      expect((await store.members(r.id)).sort()).toEqual(['a', 'b'])
      expect(await store.isMember(r.id, 'b')).toBe(true)
      expect(await store.isMember(r.id, 'c')).toBe(false)
      expect(await store.removeMember(r.id, 'a')).toBe(1)
      expect((await store.addMember(r.id, 'c', 60_000)).status).toBe('ok')
    })

    it('forgets a deleted room entirely', async () => {
      const store = await open()
      const r = room()
      await store.create(r, 60_000)
      await store.addMember(r.id, 'a', 60_000)
      await store.delete(r.id)
      expect(await store.findByCode(r.code)).toBeNull()
      expect(await store.findBySecret(r.secret)).toBeNull()
      expect(await store.isMember(r.id, 'a')).toBe(false)
      expect(await store.addMember(r.id, 'b', 60_000)).toEqual({ status: 'gone' })
    })
  })
}
