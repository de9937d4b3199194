import { i18n } from '../../../i18n'

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
  return answers ? i18n.t('engine.websocketBlocked') : i18n.t('engine.serverUnreachable')
}
