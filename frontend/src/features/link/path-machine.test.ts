import { describe, expect, it } from 'vitest'
import { choosePath, initialPath, pathTransition, settled, type Path, type PathEvent, type PathState } from './path-machine'

const run = (s: PathState, ...events: PathEvent[]) => events.reduce(pathTransition, s)

describe('the recipient path of a one-link share', () => {
  it('goes directly once the link to an online sender is up, and says relay when the server relay carries it', () => {
    const s = run(initialPath('uploading', true), { type: 'joined', hosts: 1 })
    expect(choosePath(s)).toBe('connecting')
    expect(choosePath(run(s, { type: 'link', state: 'connected', via: 'direct' }))).toBe('direct')
    expect(choosePath(run(s, { type: 'link', state: 'connected', via: 'turn' }))).toBe('direct')
    expect(choosePath(run(s, { type: 'link', state: 'failed', via: null }, { type: 'link', state: 'connected', via: 'relay' }))).toBe('relay')
  })

  it('takes the cloud copy when the sender is offline, waits while it uploads, and says offline without one', () => {
    expect(choosePath(run(initialPath('ready', false), { type: 'joined', hosts: 0 }))).toBe('cloud')
    expect(choosePath(run(initialPath('uploading', false), { type: 'joined', hosts: 0 }))).toBe('waiting')
    expect(choosePath(run(initialPath('none', false), { type: 'joined', hosts: 0 }))).toBe('offline')
    expect(choosePath(run(initialPath('uploading', false), { type: 'metadata', cloud: 'ready', online: false }))).toBe('cloud')
  })

  it('falls back to the cloud copy when no direct link is possible and the relay is off', () => {
    const s = run(initialPath('ready', true), { type: 'joined', hosts: 1 }, { type: 'link', state: 'failed', via: null })
    // The relay may still stand in: not settled yet.
    expect(choosePath(s)).toBe('connecting')
    expect(choosePath(run(s, { type: 'relay-off' }))).toBe('cloud')
    // The copy still uploading: wait for it rather than give up.
    expect(choosePath(run({ ...s, cloud: 'uploading' }, { type: 'relay-off' }))).toBe('waiting')
  })

  it('falls back when no link came up in time, but not once it is up', () => {
    const s = run(initialPath('ready', true), { type: 'joined', hosts: 1 })
    expect(choosePath(run(s, { type: 'gave-up' }))).toBe('cloud')
    expect(choosePath(run(s, { type: 'link', state: 'connected', via: 'direct' }, { type: 'gave-up' }))).toBe('direct')
  })

  it('falls back after a direct transfer failed, and tries directly again when a sender comes back', () => {
    const up = run(initialPath('ready', true), { type: 'joined', hosts: 1 }, { type: 'link', state: 'connected', via: 'direct' })
    const failed = run(up, { type: 'direct-failed' })
    expect(choosePath(failed)).toBe('cloud')
    const back = run(failed, { type: 'host-left' }, { type: 'link', state: 'closed', via: null }, { type: 'host-joined' })
    expect(choosePath(back)).toBe('connecting')
  })

  it('the sender closing the page leaves the cloud copy or, without one, offline; its return is noticed', () => {
    const up = run(initialPath('none', true), { type: 'joined', hosts: 1 }, { type: 'link', state: 'connected', via: 'direct' })
    const gone = run(up, { type: 'host-left' })
    expect(choosePath(gone)).toBe('offline')
    expect(choosePath(run(up, { type: 'metadata', cloud: 'ready', online: false }, { type: 'host-left' }))).toBe('cloud')
    expect(choosePath(run(gone, { type: 'host-joined' }))).toBe('connecting')
  })

  it('a refused link room leaves only the cloud copy, and the metadata no longer brings hosts back after the room answered', () => {
    expect(choosePath(run(initialPath('ready', true), { type: 'join-failed' }))).toBe('cloud')
    expect(choosePath(run(initialPath('none', true), { type: 'join-failed' }))).toBe('offline')
    const joined = run(initialPath('ready', true), { type: 'joined', hosts: 0 }, { type: 'metadata', cloud: 'ready', online: true })
    expect(joined.hosts).toBe(0)
  })

  it('a second host leaving keeps the first', () => {
    const s = run(initialPath('none', true), { type: 'joined', hosts: 2 }, { type: 'link', state: 'connected', via: 'direct' }, { type: 'host-left' })
    expect(choosePath(s)).toBe('direct')
  })

  it('is settled only when a download can start or cannot happen at all', () => {
    const pending: Path[] = ['connecting', 'waiting']
    const ready: Path[] = ['direct', 'relay', 'cloud', 'offline']
    expect(pending.map(settled)).toEqual([false, false])
    expect(ready.map(settled)).toEqual([true, true, true, true])
  })
})
