import { ROOM_SECRET_HEADER, RoomSecret, type RoomFilesResponse } from '@sharesync/protocol'
import { Router } from 'express'
import type { Deps } from '../deps'
import { AppError } from '../http/app-error'
import type { RoomFiles } from './room-files.service'
import type { RoomStore } from './room-store'

/** The rooms namespace's parts this route reads (built after the routes, with the Socket.IO server). */
export interface RoomFilesSource {
  store: Pick<RoomStore, 'findBySecret'>
  files: Pick<RoomFiles, 'list'>
}

/**
 * GET /api/rooms/files: the files left in a room, for whoever holds the room's link (its secret, in
 * `X-Room-Secret`, never in the URL): the link is what lets anyone join the room. Downloads stay
 * with the room's members (the `files:url` socket event).
 */
export function roomFilesRouter({ limits }: Pick<Deps, 'limits'>, source: () => RoomFilesSource): Router {
  const router = Router()
  router.get('/api/rooms/files', async (req, res) => {
    const secret = RoomSecret.safeParse(req.get(ROOM_SECRET_HEADER) ?? '')
    if (!secret.success) throw new AppError('invalid_input', `${ROOM_SECRET_HEADER}: ${secret.error.issues[0]?.message ?? 'not a room link'}`)
    await limits.consume('roomJoin', `ip:${req.viewer.address}`)
    const { store, files } = source()
    const room = await store.findBySecret(secret.data)
    if (!room || room.kind !== 'room') throw new AppError('room_not_found', 'This room link is wrong, or the room has ended.')
    res.setHeader('Cache-Control', 'no-store')
    res.json({ files: await files.list(room.id) } satisfies RoomFilesResponse)
  })
  return router
}
