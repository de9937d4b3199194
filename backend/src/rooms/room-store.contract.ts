import { describe, expect, it } from 'vitest'
import type { MemberRecord, RoomRecord, RoomStore } from './room-store'

/** The behaviour every RoomStore must have, run against each implementation (memory, Redis). */
export function roomStoreContract(name: string, open: () => Promise<RoomStore>) {
  let n = 0
  const room = (over: Partial<RoomRecord> = {}): RoomRecord => {
    n += 1
    return { id: `room-${name}-${n}-${Date.now()}`, kind: 'room', code: `C${String(n).padStart(5, '0')}`, secret: `secret-${name}-${n}-${Date.now()}-xxxxxxxx`, capacity: 3, createdAt: Date.now(), ...over }
  }
  const member = (peerId: string, over: Partial<MemberRecord> = {}): MemberRecord => ({ peerId, name: peerId, device: 'Device', tokenHash: '', instance: 'i1', conn: `conn-${peerId}`, away: false, ...over })

  describe(`${name} room store`, () => {
    it('finds a room by its code and by its link secret', async () => {
      const store = await open()
      const r = room()
      expect(await store.create(r, 60_000)).toBe(true)
      expect(await store.findByCode(r.code)).toEqual(r)
      expect(await store.findBySecret(r.secret)).toEqual(r)
      expect(await store.get(r.id)).toEqual(r)
      expect(await store.findByCode('NOPE00')).toBeNull()
      expect(await store.findBySecret('not-a-secret')).toBeNull()
      expect(await store.findBySecret('')).toBeNull()
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
      const added = await store.addMember(r.id, member('p1'), 300)
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
      expect((await store.addMember(r.id, member('a'), 60_000)).status).toBe('ok')
      expect((await store.addMember(r.id, member('b'), 60_000)).status).toBe('ok')
      expect((await store.addMember(r.id, member('a', { name: 'renamed' }), 60_000)).status).toBe('ok')
      expect(await store.addMember(r.id, member('c'), 60_000)).toEqual({ status: 'full' })
      expect((await store.members(r.id)).map((m) => m.peerId).sort()).toEqual(['a', 'b'])
      expect(await store.member(r.id, 'a')).toEqual(member('a', { name: 'renamed' }))
      expect(await store.isMember(r.id, 'b')).toBe(true)
      expect(await store.isMember(r.id, 'c')).toBe(false)
      expect(await store.removeMember(r.id, 'a')).toBe(1)
      expect(await store.removeMember(r.id, 'a')).toBeNull()
      expect((await store.addMember(r.id, member('c'), 60_000)).status).toBe('ok')
    })

    it('changes or removes a member only when it still matches (compare-and-set)', async () => {
      const store = await open()
      const r = room()
      await store.create(r, 60_000)
      await store.addMember(r.id, member('a', { tokenHash: 'h1' }), 60_000)
      expect(await store.updateMember(r.id, 'a', { tokenHash: 'wrong' }, { tokenHash: 'h2' })).toBe('mismatch')
      expect(await store.updateMember(r.id, 'a', { tokenHash: 'h1' }, { tokenHash: 'h2', conn: 'c2', instance: 'i2' })).toBe('ok')
      // The old token hash is spent: the same change again does not apply.
      expect(await store.updateMember(r.id, 'a', { tokenHash: 'h1' }, { tokenHash: 'h3' })).toBe('mismatch')
      expect(await store.member(r.id, 'a')).toMatchObject({ tokenHash: 'h2', conn: 'c2', instance: 'i2' })
      expect(await store.updateMember(r.id, 'nobody', {}, { away: true })).toBe('gone')
      expect(await store.updateMember(r.id, 'a', { conn: 'c2' }, { away: true })).toBe('ok')
      expect(await store.removeMember(r.id, 'a', { conn: 'c1' })).toBeNull()
      expect(await store.removeMember(r.id, 'a', { conn: 'c2', away: false })).toBeNull()
      expect(await store.removeMember(r.id, 'a', { conn: 'c2', away: true })).toBe(0)
    })

    it('keeps nearby groups without code or link, created once', async () => {
      const store = await open()
      const g = room({ kind: 'nearby', code: '', secret: '', capacity: 2 })
      await store.ensure(g)
      await store.ensure({ ...g, capacity: 99 })
      expect(await store.get(g.id)).toEqual(g)
      expect((await store.addMember(g.id, member('a'), 60_000)).status).toBe('ok')
      expect((await store.addMember(g.id, member('b'), 60_000)).status).toBe('ok')
      expect((await store.addMember(g.id, member('c'), 60_000)).status).toBe('full')
      expect(await store.findByCode('')).toBeNull()
    })

    it('forgets a deleted room entirely', async () => {
      const store = await open()
      const r = room()
      await store.create(r, 60_000)
      await store.addMember(r.id, member('a'), 60_000)
      await store.delete(r.id)
      expect(await store.get(r.id)).toBeNull()
      expect(await store.findByCode(r.code)).toBeNull()
      expect(await store.findBySecret(r.secret)).toBeNull()
      expect(await store.isMember(r.id, 'a')).toBe(false)
      expect(await store.addMember(r.id, member('b'), 60_000)).toEqual({ status: 'gone' })
    })

    it('restores a lost room and its members with their code, link and token, beyond capacity if need be', async () => {
      const store = await open()
      const r = room({ capacity: 1 })
      await store.create(r, 60_000)
      await store.addMember(r.id, member('a'), 60_000)
      await store.delete(r.id) // as if the data were lost
      expect(await store.restore(r, member('a', { tokenHash: 'h' }), 60_000)).toBe(true)
      expect(await store.restore(r, member('b'), 60_000)).toBe(true)
      expect(await store.restore(r, member('b'), 60_000)).toBe(false)
      expect(await store.findByCode(r.code)).toEqual(r)
      expect(await store.findBySecret(r.secret)).toEqual(r)
      expect(await store.member(r.id, 'a')).toMatchObject({ tokenHash: 'h' })
      expect((await store.members(r.id)).length).toBe(2)
    })
  })
}
