import { describe, expect, it } from 'vitest'
import { trustedPeer } from './forwarding'

describe('which directly connected peers TRUST_PROXY trusts', () => {
  it('off: no one, so a forwarded address is never believed', () => {
    expect(trustedPeer(false)('127.0.0.1')).toBe(false)
  })

  it('a list: only its addresses and networks, also when a peer arrives IPv4-mapped', () => {
    const trusted = trustedPeer(['loopback', '10.0.0.0/8'])
    expect(trusted('127.0.0.1')).toBe(true)
    expect(trusted('::ffff:127.0.0.1')).toBe(true)
    expect(trusted('10.2.3.4')).toBe(true)
    expect(trusted('192.0.2.1')).toBe(false)
  })

  it('a proxy named by another address than the one it connects from is not trusted (the misconfiguration the log warns about)', () => {
    expect(trustedPeer(['10.0.0.1'])('10.0.0.2')).toBe(false)
  })

  it('true or a hop count: whoever connects is a proxy', () => {
    expect(trustedPeer(true)('192.0.2.1')).toBe(true)
    expect(trustedPeer(1)('192.0.2.1')).toBe(true)
  })
})
