import { describe, expect, it } from 'vitest'
import { addressKey } from './client-address'

describe('rate-limit keys of client addresses', () => {
  it('an IPv6 client rotating within its /64 keeps one key', () => {
    expect(addressKey('2001:db8::1', 64)).toBe('2001:db8::/64')
    expect(addressKey('2001:db8::2', 64)).toBe('2001:db8::/64')
    expect(addressKey('2001:db8:0:0:ffff:ffff:ffff:ffff', 64)).toBe('2001:db8::/64')
  })

  it('the next /64 is another client', () => {
    expect(addressKey('2001:db8:0:1::1', 64)).toBe('2001:db8:0:1::/64')
  })

  it('the prefix is configurable (a /56 groups 256 networks, a /128 is exact)', () => {
    expect(addressKey('2001:db8:0:ff::1', 56)).toBe('2001:db8::/56')
    expect(addressKey('2001:db8::1', 128)).toBe('2001:db8::1/128')
  })

  it('IPv4 counts by address, also when it arrives IPv4-mapped', () => {
    expect(addressKey('203.0.113.7', 64)).toBe('203.0.113.7')
    expect(addressKey('203.0.113.8', 64)).toBe('203.0.113.8')
    expect(addressKey('::ffff:203.0.113.7', 64)).toBe('203.0.113.7')
  })

  it('something that is not an address keys as itself', () => {
    expect(addressKey('unknown', 64)).toBe('unknown')
    expect(addressKey('', 64)).toBe('')
  })
})
