import type { Peer, RoomInfo } from '@sharesync/protocol'
import { describe, expect, it } from 'vitest'
import { initialRoom, reachable, roomTransition, type RoomEvent, type RoomState } from './room-machine'

const room: RoomInfo = { id: 'r1', code: 'ABC234', codeExpiresAt: '2030-01-01T00:00:00.000Z', link: 'http://x/r/s', secret: 's'.repeat(24), capacity: 10 }
const me: Peer = { peerId: 'me', name: 'Me', device: 'Linux · Chrome' }
const alice: Peer = { peerId: 'a', name: 'Alice', device: 'Pixel · Chrome' }
const bob: Peer = { peerId: 'b', name: 'Bob', device: 'Mac · Firefox' }

const run = (...events: RoomEvent[]): RoomState => events.reduce(roomTransition, initialRoom)

describe('room machine', () => {
  it('joining lists the other members as connecting; a link up makes them reachable, with its path', () => {
    const s = run({ type: 'socket-up' }, { type: 'joined', room, self: me, peers: [me, alice] })
    expect(s.phase).toBe('ready')
    expect(s.peers).toEqual([{ ...alice, reconnecting: false, link: 'connecting', path: null }])
    expect(reachable(s)).toEqual([])
    const up = roomTransition(s, { type: 'link', peerId: 'a', link: 'connected', path: 'relay' })
    expect(reachable(up).map((p) => [p.peerId, p.path])).toEqual([['a', 'relay']])
  })

  it('a failed first join ends the page; a failed rejoin later is only an error message', () => {
    expect(run({ type: 'join-failed', message: 'nope' }).phase).toBe('error')
    const joined = run({ type: 'joined', room, self: me, peers: [] })
    const later = roomTransition(joined, { type: 'join-failed', message: 'server busy' })
    expect(later.phase).toBe('ready')
    expect(later.error).toBe('server busy')
  })

  it('a rejoin keeps what is known about members that are still there', () => {
    const s = run({ type: 'joined', room, self: me, peers: [alice, bob] }, { type: 'link', peerId: 'a', link: 'connected', path: 'direct' }, { type: 'socket-down' })
    expect(s.serverConnected).toBe(false)
    const again = roomTransition(s, { type: 'joined', room, self: me, peers: [alice] })
    expect(again.peers).toEqual([{ ...alice, reconnecting: false, link: 'connected', path: 'direct' }])
  })

  it('members come and go; a repeated join updates the name instead of listing twice', () => {
    let s = run({ type: 'joined', room, self: me, peers: [] }, { type: 'peer-joined', peer: alice }, { type: 'peer-joined', peer: { ...alice, name: 'Alice phone' } })
    expect(s.peers.map((p) => p.name)).toEqual(['Alice phone'])
    s = roomTransition(s, { type: 'peer-joined', peer: me })
    expect(s.peers).toHaveLength(1)
    s = roomTransition(s, { type: 'peer-left', peerId: 'a' })
    expect(s.peers).toEqual([])
  })

  it('after leaving (or the room closing) nothing changes any more', () => {
    const left = run({ type: 'joined', room, self: me, peers: [alice] }, { type: 'room-closed' })
    expect(left.phase).toBe('left')
    expect(roomTransition(left, { type: 'peer-joined', peer: bob })).toBe(left)
  })

  it('a member that lost its connection is marked reconnecting until it is announced back', () => {
    const s = run({ type: 'joined', room, self: me, peers: [alice] }, { type: 'peer-reconnecting', peerId: 'a' })
    expect(s.peers[0]!.reconnecting).toBe(true)
    expect(roomTransition(s, { type: 'peer-joined', peer: { ...alice, reconnecting: false } }).peers[0]!.reconnecting).toBe(false)
  })

  it('the nearby group lists the devices of this network; without one the lobby still works, with no devices', () => {
    const s = run({ type: 'nearby-joined', nearby: { id: 'n1', capacity: 20 }, self: me, peers: [me, alice] })
    expect(s.phase).toBe('ready')
    expect(s.nearbyState).toBe('on')
    expect(s.peers.map((p) => p.peerId)).toEqual(['a'])
    const off = roomTransition(s, { type: 'nearby-off' })
    expect(off.nearbyState).toBe('off')
    expect(off.peers).toEqual([])
    expect(run({ type: 'nearby-off' }).phase).toBe('ready')
  })

  it('the relay switched off by the admin is remembered for the page to explain', () => {
    expect(run({ type: 'relay-off' }).relayOff).toBe(true)
  })
})
