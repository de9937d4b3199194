export const SERVER_UNREACHABLE = 'Could not reach the server. Check your connection and try again.'
export const WEBSOCKET_BLOCKED =
  'The server answers, but its live connection (WebSocket) is blocked on the way: a proxy or firewall between you and the server does not let WebSocket connections through, and P2P rooms need them. Cloud links still work. (Administrators: forward the Upgrade and Connection headers, as in deploy/nginx.conf.)'

/**
 * Why the room's live connection could not be opened. If plain HTTP reaches the server while
 * Socket.IO does not, something on the way strips WebSocket upgrades (and the server, running
 * several instances, accepts WebSocket only).
 */
export async function unreachableMessage(baseUrl = ''): Promise<string> {
  const answers = await fetch(`${baseUrl}/api/health`, { cache: 'no-store' }).then(
    (r) => r.ok,
    () => false,
  )
  return answers ? WEBSOCKET_BLOCKED : SERVER_UNREACHABLE
}
