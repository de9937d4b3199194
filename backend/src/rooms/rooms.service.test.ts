import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../config'
import { Limits, limitRules } from '../limits/limits'
import { issueToken } from './reconnect-token'
import { MemoryRoomStore, type RoomStore } from './room-store'
import { RoomsService, type SeatRequest } from './rooms.service'

const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: mkdtempSync(join(tmpdir(), 'rooms-unit-')), SESSION_SECRET: 'x'.repeat(32), ROOM_CAPACITY: '3', NEARBY_CAPACITY: '2' })
const caller = { ip: '203.0.113.7' }
let n = 0
const seat = (over: Partial<SeatRequest> = {}): SeatRequest => {
  n += 1
  return { peerId: `peer${n}`, name: `Device ${n}`, device: 'Linux · Firefox', conn: `conn${n}`, resumable: true, ...over }
}
const expectCode = async (p: Promise<unknown>, code: string) => expect(p).rejects.toMatchObject({ code })

describe('rooms service (memory store)', () => {
  let store: RoomStore
  let service: RoomsService
  const reports: unknown[] = []
  beforeEach(() => {
    store = new MemoryRoomStore()
    service = new RoomsService({ store, limits: new Limits(limitRules(config)), reports: { insertReport: async (r) => reports.push(r) }, rules: config.rooms, instance: 'i1', nearbyKey: 'k' })
  })

  it('a resumable member gets a token; resuming with it gives the same peer id and a new token', async () => {
    const a = await service.create(caller, seat({ name: 'Alice' }))
    const b = await service.join(caller, { secret: a.room.secret }, seat())
    expect(a.token).toMatch(new RegExp(`^${a.room.id}\\.${a.self.peerId}\\.`))
    expect(b.peers.map((p) => p.peerId)).toEqual([a.self.peerId])
    expect(await service.markAway(a.room.id, a.self.peerId, a.self.conn)).toBe(true)
    expect((await store.member(a.room.id, a.self.peerId))?.away).toBe(true)

    const back = await service.resume(a.token!, 'conn-new')
    expect(back.self).toMatchObject({ peerId: a.self.peerId, name: 'Alice', conn: 'conn-new', away: false })
    expect(back.previous).toEqual({ conn: a.self.conn, instance: 'i1', away: true })
    expect(back.peers.map((p) => p.peerId)).toEqual([b.self.peerId])
    expect(back.token).not.toBe(a.token)
    // The grace timer of the old connection fires later: it must not free the resumed seat.
    expect(await service.expire(a.room.id, a.self.peerId, a.self.conn)).toEqual({ removed: false, ended: false })
    expect(await store.isMember(a.room.id, a.self.peerId)).toBe(true)
  })

  it('a replayed token is refused, and so are forged ones and tokens of another room or peer', async () => {
    const a = await service.create(caller, seat())
    const other = await service.create(caller, seat())
    const b = await service.join(caller, { secret: a.room.secret }, seat())
    await service.resume(a.token!, 'c2')
    await expectCode(service.resume(a.token!, 'c3'), 'resume_refused')
    await expectCode(service.resume(issueToken(a.room.id, a.self.peerId).token, 'c4'), 'resume_refused')
    const [, , secretA] = a.token!.split('.')
    await expectCode(service.resume(`${other.room.id}.${a.self.peerId}.${secretA}`, 'c5'), 'resume_refused')
    await expectCode(service.resume(`${a.room.id}.${b.self.peerId}.${secretA}`, 'c6'), 'resume_refused')
    await expectCode(service.resume(`nonexistentroom.${a.self.peerId}.${secretA}`, 'c7'), 'room_not_found')
    await expectCode(service.resume('garbage', 'c8'), 'resume_refused')
  })

  it('a member that joined without asking for a token cannot be resumed', async () => {
    const a = await service.create(caller, seat({ resumable: false }))
    expect(a.token).toBeUndefined()
    expect(a.self.tokenHash).toBe('')
    await expectCode(service.resume(`${a.room.id}.${a.self.peerId}.${'A'.repeat(22)}`, 'c'), 'resume_refused')
  })

  it('of two resumes racing with one token, exactly one wins', async () => {
    const a = await service.create(caller, seat())
    const results = await Promise.allSettled([service.resume(a.token!, 'x'), service.resume(a.token!, 'y')])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
  })

  it('after the grace period the seat is freed and the room ends with its last member', async () => {
    const a = await service.create(caller, seat())
    await service.markAway(a.room.id, a.self.peerId, a.self.conn)
    expect(await service.expire(a.room.id, a.self.peerId, a.self.conn)).toEqual({ removed: true, ended: true })
    expect(await store.get(a.room.id)).toBeNull()
    await expectCode(service.resume(a.token!, 'c'), 'room_not_found')
  })

  it('a seat held for a reconnecting member still counts against the capacity', async () => {
    const a = await service.create(caller, seat())
    await service.join(caller, { secret: a.room.secret }, seat())
    const c = await service.join(caller, { secret: a.room.secret }, seat())
    await service.markAway(c.room.id, c.self.peerId, c.self.conn)
    await expectCode(service.join(caller, { secret: a.room.secret }, seat()), 'room_full')
  })

  it('leaving takes effect only for the connection that holds the seat', async () => {
    const a = await service.create(caller, seat())
    await service.join(caller, { secret: a.room.secret }, seat())
    await service.resume(a.token!, 'newer')
    expect(await service.leave(a.room.id, a.self.peerId, a.self.conn)).toEqual({ removed: false, ended: false })
    expect(await service.leave(a.room.id, a.self.peerId, 'newer')).toEqual({ removed: true, ended: false })
  })

  it('nearby: one network is one group, another network another; capacity applies', async () => {
    const a = await service.joinNearby('203.0.113.7', seat())
    const b = await service.joinNearby('203.0.113.7', seat())
    const c = await service.joinNearby('198.51.100.1', seat())
    expect(b.room.id).toBe(a.room.id)
    expect(b.room.kind).toBe('nearby')
    expect(b.peers.map((p) => p.peerId)).toEqual([a.self.peerId])
    expect(c.room.id).not.toBe(a.room.id)
    expect(c.peers).toEqual([])
    await expectCode(service.joinNearby('203.0.113.7', seat()), 'room_full')
  })

  it('nearby: a token resumes only on the same network, and never as a room', async () => {
    const a = await service.joinNearby('203.0.113.7', seat())
    await expectCode(service.joinNearby('198.51.100.1', seat(), a.token), 'resume_refused')
    await expectCode(service.resume(a.token!, 'c'), 'room_not_found')
    const back = await service.joinNearby('203.0.113.7', seat(), a.token)
    expect(back.self.peerId).toBe(a.self.peerId)
    const room = await service.create(caller, seat())
    await expectCode(service.joinNearby('203.0.113.7', seat(), room.token), 'resume_refused')
  })

  it('a code or link of a nearby group does not exist', async () => {
    const g = await service.joinNearby('203.0.113.7', seat())
    await expectCode(service.join(caller, { secret: g.room.secret }, seat()), 'room_not_found')
    await expectCode(service.join(caller, { code: g.room.code }, seat()), 'room_not_found')
  })

  it('signals reach only members of one of the sender\'s groups, never the sender itself', async () => {
    const a = await service.create(caller, seat())
    const b = await service.join(caller, { secret: a.room.secret }, seat())
    const g = await service.joinNearby('203.0.113.7', seat())
    const stranger = await service.create(caller, seat())
    expect(await service.sharedRoom([a.room.id], a.self.peerId, b.self.peerId)).toBe(a.room.id)
    expect(await service.sharedRoom([a.room.id], a.self.peerId, stranger.self.peerId)).toBeNull()
    expect(await service.sharedRoom([a.room.id, g.room.id], a.self.peerId, g.self.peerId)).toBe(g.room.id)
    expect(await service.sharedRoom([a.room.id], a.self.peerId, a.self.peerId)).toBeNull()
    expect(await service.sharedRoom([], a.self.peerId, b.self.peerId)).toBeNull()
  })

  it('a link room: a recipient is listed only hosts and reaches only hosts; a host is listed the recipients; neither room:join nor a token reaches it', async () => {
    const share = 'S'.repeat(22)
    // a link holds NEARBY_CAPACITY devices at once (2 in this file's config): room for four here
    service = new RoomsService({ store, limits: new Limits(limitRules(config)), reports: { insertReport: async () => undefined }, rules: { ...config.rooms, nearbyCapacity: 4 }, instance: 'i1', nearbyKey: 'k' })
    const host = await service.enterLink(share, 'host', seat())
    const r1 = await service.enterLink(share, 'recipient', seat())
    const r2 = await service.enterLink(share, 'recipient', seat())
    const host2 = await service.enterLink(share, 'host', seat())
    expect(host.room).toMatchObject({ id: `link-${share}`, kind: 'link', code: '', secret: '' })
    expect(host.token).toBeUndefined()
    expect(r2.peers.map((p) => p.peerId)).toEqual([host.self.peerId])
    expect(host2.peers.map((p) => p.peerId)).toEqual([r1.self.peerId, r2.self.peerId])
    const link = [host.room.id]
    expect(await service.sharedRoom(link, r1.self.peerId, host.self.peerId)).toBe(host.room.id)
    expect(await service.sharedRoom(link, host.self.peerId, r2.self.peerId)).toBe(host.room.id)
    expect(await service.sharedRoom(link, r1.self.peerId, r2.self.peerId)).toBeNull()
    expect(await service.sharedRoom(link, host.self.peerId, host2.self.peerId)).toBeNull()
    expect(await service.linkOnline(share)).toBe(true)
    expect(await service.linkOnline('T'.repeat(22))).toBe(false)
    await service.leave(host.room.id, host.self.peerId, host.self.conn)
    await service.leave(host.room.id, host2.self.peerId, host2.self.conn)
    expect(await service.linkOnline(share)).toBe(false)
    await expectCode(service.join(caller, { secret: host.room.secret }, seat()), 'room_not_found')
    await expectCode(service.resume(issueToken(host.room.id, r1.self.peerId).token, 'c'), 'room_not_found')
    // full: the fifth device is refused
    await service.enterLink(share, 'recipient', seat())
    await service.enterLink(share, 'recipient', seat())
    await expectCode(service.enterLink(share, 'host', seat()), 'room_full')
  })

  it('room codes are six characters without look-alikes; creating rooms is rate limited per address', async () => {
    const limited = new RoomsService({ store, limits: new Limits({ ...limitRules(config), roomCreate: { points: 2, seconds: 60 } }), reports: { insertReport: async () => undefined }, rules: config.rooms, instance: 'i1', nearbyKey: 'k' })
    const r = await limited.create(caller, seat())
    expect(r.room.code).toMatch(/^[2-9A-HJ-NP-Z]{6}$/)
    await limited.create(caller, seat())
    await expectCode(limited.create(caller, seat()), 'rate_limited')
    await limited.create({ ip: '198.51.100.1' }, seat())
  })
})
