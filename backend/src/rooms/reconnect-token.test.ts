import { describe, expect, it } from 'vitest'
import { issueToken, parseToken } from './reconnect-token'

describe('reconnect tokens', () => {
  it('name their room and peer, and carry a secret the server only keeps a hash of', () => {
    const { token, hash } = issueToken('room123456', 'peer12345678')
    expect(token.startsWith('room123456.peer12345678.')).toBe(true)
    expect(token).not.toContain(hash)
    expect(parseToken(token)).toEqual({ roomId: 'room123456', peerId: 'peer12345678', hash })
  })

  it('are different every time, for the same room and peer', () => {
    const a = issueToken('r'.repeat(16), 'p'.repeat(16))
    const b = issueToken('r'.repeat(16), 'p'.repeat(16))
    expect(a.token).not.toBe(b.token)
    expect(a.hash).not.toBe(b.hash)
  })

  it('refuse anything that is not shaped like one', () => {
    for (const bad of ['', 'a.b', 'a.b.short', 'a.b.c.d', `a.b.${'x'.repeat(22)}.`, `a b.c.${'x'.repeat(22)}`, `${'r'.repeat(65)}.p.${'x'.repeat(22)}`, `r.p.${'x'.repeat(300)}`]) {
      expect(parseToken(bad)).toBeNull()
    }
  })
})
