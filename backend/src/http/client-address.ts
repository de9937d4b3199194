import ipaddr from 'ipaddr.js'

/**
 * The key a client's address counts under in rate limits and quotas. An IPv4 client (also when it
 * arrives as IPv4-mapped IPv6, `::ffff:203.0.113.7`) is one address; an IPv6 client is its network
 * of `v6Prefix` bits (/64 by default), because one subscriber is handed a whole /64 and can rotate
 * within it at will. Anything that is not an address (a unix socket) keys as itself.
 *
 * Every request asks for its client's key, and a busy client asks for the same one over and over:
 * the last few thousand answers are kept (the key is a pure function of the address and prefix).
 */
export function addressKey(ip: string, v6Prefix: number): string {
  const memo = `${v6Prefix} ${ip}`
  const known = recentKeys.get(memo)
  if (known !== undefined) return known
  const key = computeAddressKey(ip, v6Prefix)
  if (recentKeys.size >= RECENT_KEYS) recentKeys.clear()
  recentKeys.set(memo, key)
  return key
}

const RECENT_KEYS = 4096
const recentKeys = new Map<string, string>()

function computeAddressKey(ip: string, v6Prefix: number): string {
  let addr: ipaddr.IPv4 | ipaddr.IPv6
  try {
    addr = ipaddr.process(ip)
  } catch {
    return ip
  }
  if (addr.kind() === 'ipv4') return addr.toString()
  const bytes = addr.toByteArray()
  for (let bit = v6Prefix; bit < 128; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7))
  return `${ipaddr.fromByteArray(bytes).toString()}/${v6Prefix}`
}
