import { createHmac } from 'node:crypto'
import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'

/**
 * Which "nearby" group a client address belongs to: devices behind one public IPv4 address (one
 * NAT), on one private /24 (the server is on the LAN), or in one IPv6 /64 see each other without a
 * code. Loopback addresses stay apart (each is its own "network", which the tests use).
 * Null for anything that is not an address.
 */
export function networkOf(ip: string): string | null {
  // Only the canonical forms a socket reports (ipaddr.js also reads legacy ones such as "1.2.3").
  if (isIP(ip) === 0) return null
  let addr: ipaddr.IPv4 | ipaddr.IPv6
  try {
    addr = ipaddr.process(ip)
  } catch {
    return null
  }
  if (addr.kind() === 'ipv4') {
    const range = addr.range()
    if (range === 'unspecified' || range === 'broadcast') return null
    if (range === 'private' || range === 'linkLocal') {
      const [a, b, c] = (addr as ipaddr.IPv4).octets
      return `${a}.${b}.${c}.0/24`
    }
    return addr.toString()
  }
  const v6 = addr as ipaddr.IPv6
  const range = v6.range()
  if (range === 'unspecified') return null
  if (range === 'loopback') return v6.toString()
  return `${new ipaddr.IPv6([...v6.parts.slice(0, 4), 0, 0, 0, 0]).toString()}/64`
}

/** The group's id: keyed so that it names the network to no one, and stable across instances. */
export function nearbyGroupId(network: string, key: string): string {
  return `n${createHmac('sha256', key).update(`nearby:${network}`).digest('base64url').slice(0, 22)}`
}

/**
 * A request that came through a proxy the server does not trust: every client would show the
 * proxy's address, so grouping by address would put strangers together.
 */
export function forwardedButUntrusted(headers: Record<string, string | string[] | undefined>, trusted: boolean): boolean {
  if (trusted) return false
  return headers['x-forwarded-for'] !== undefined || headers.forwarded !== undefined || headers['x-real-ip'] !== undefined
}
