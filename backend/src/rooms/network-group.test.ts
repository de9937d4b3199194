import { describe, expect, it } from 'vitest'
import { forwardedButUntrusted, nearbyGroupId, networkOf } from './network-group'

describe('nearby groups by address', () => {
  it('devices behind one public IPv4 address share a group; the next address does not', () => {
    expect(networkOf('203.0.113.7')).toBe(networkOf('203.0.113.7'))
    expect(networkOf('203.0.113.7')).not.toBe(networkOf('203.0.113.8'))
  })

  it('an IPv4-mapped IPv6 address is the same client as its IPv4 address', () => {
    expect(networkOf('::ffff:203.0.113.7')).toBe(networkOf('203.0.113.7'))
    expect(networkOf('::ffff:192.168.1.20')).toBe('192.168.1.0/24')
  })

  it('on a LAN (private addresses) the /24 is one group, the next /24 another', () => {
    expect(networkOf('192.168.1.20')).toBe(networkOf('192.168.1.201'))
    expect(networkOf('10.0.5.1')).toBe('10.0.5.0/24')
    expect(networkOf('172.16.9.9')).toBe('172.16.9.0/24')
    expect(networkOf('192.168.1.20')).not.toBe(networkOf('192.168.2.20'))
    expect(networkOf('169.254.3.4')).toBe('169.254.3.0/24')
  })

  it('IPv6 clients group by /64', () => {
    expect(networkOf('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64')
    expect(networkOf('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe(networkOf('2001:db8:1:2::1'))
    expect(networkOf('2001:db8:1:3::1')).not.toBe(networkOf('2001:db8:1:2::1'))
    expect(networkOf('fe80::1')).toBe('fe80::/64')
  })

  it('loopback addresses are each their own network', () => {
    expect(networkOf('127.0.0.1')).toBe('127.0.0.1')
    expect(networkOf('127.0.0.2')).not.toBe(networkOf('127.0.0.1'))
    expect(networkOf('::1')).toBe('::1')
  })

  it('no group for what is not a usable address', () => {
    for (const bad of ['', 'unknown', '0.0.0.0', '::', '255.255.255.255', '1.2.3', 'not an address']) expect(networkOf(bad)).toBeNull()
  })

  it('group ids are stable, keyed, and never show the address', () => {
    const id = nearbyGroupId('203.0.113.7', 'key-one')
    expect(id).toBe(nearbyGroupId('203.0.113.7', 'key-one'))
    expect(id).not.toBe(nearbyGroupId('203.0.113.7', 'key-two'))
    expect(id).not.toBe(nearbyGroupId('203.0.113.8', 'key-one'))
    expect(id).toMatch(/^n[A-Za-z0-9_-]{22}$/)
    expect(id).not.toContain('203')
  })

  it('a forwarded request the server does not trust is noticed', () => {
    expect(forwardedButUntrusted({ 'x-forwarded-for': '1.2.3.4' }, false)).toBe(true)
    expect(forwardedButUntrusted({ forwarded: 'for=1.2.3.4' }, false)).toBe(true)
    expect(forwardedButUntrusted({ 'x-forwarded-for': '1.2.3.4' }, true)).toBe(false)
    expect(forwardedButUntrusted({}, false)).toBe(false)
  })
})
