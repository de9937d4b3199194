import { z } from 'zod'
import { FileDeclaration, ShareId } from './shares'

/**
 * Files left in a room ("Leave in this room"): a member uploads a file to storage for everyone in
 * the room, including those who join later; it stays for the room's file lifetime (ROOM_FILES_TTL)
 * and the room lives on, even empty, while it holds files. Only members see, list and download
 * them (short-lived signed URLs); only the member who left one can remove it.
 *
 * A left file is a share owned by the room: the upload itself runs through the share upload API
 * (`/api/shares/:id/...` with the owner token `files:leave` answers), then `files:ready` tells
 * the room. Such a share is never reachable by its link (`/s/:id` answers 404).
 */

/** One file, as the browser declares it (name, size, type). */
export const LeaveFile = z.object({ name: FileDeclaration.shape.name, size: FileDeclaration.shape.size, type: FileDeclaration.shape.type }).strict()
export type LeaveFile = z.input<typeof LeaveFile>

export const RoomFileRef = z.object({ id: ShareId }).strict()
export type RoomFileRef = z.input<typeof RoomFileRef>

export const ListRoomFiles = z.object({}).strict()

const isoTime = z.string().meta({ format: 'date-time' })

export const RoomFileSchema = z
  .object({
    /** the room file's id (its share's id) */
    id: z.string(),
    name: z.string(),
    size: z.number().int(),
    type: z.string(),
    /** the member who left it (`peerId` as in the room; `name` as it was then) */
    leftBy: z.object({ peerId: z.string(), name: z.string() }),
    leftAt: isoTime,
    /** when it is deleted from storage */
    expiresAt: isoTime,
  })
  .meta({ id: 'RoomFile' })
export type RoomFile = z.infer<typeof RoomFileSchema>

/** The answer to `files:leave`: what the share upload API needs to upload the file. */
export interface LeftUpload {
  id: string
  ownerToken: string
  expiresAt: string
  file: { id: string; name: string; partSize: number; partCount: number }
}

export interface RoomFileUrl {
  /** a signed URL, good for a short time (at most the presign TTL, never beyond the file's expiry) */
  url: string
  expiresAt: string
}

/**
 * REST: GET /api/rooms/files with the room's link secret in `X-Room-Secret` (the room's link is what
 * lets anyone join it, so it is what lets them see its files): for scripts and pages outside the room.
 */
export const ROOM_SECRET_HEADER = 'x-room-secret'
export const RoomFilesResponse = z.object({ files: z.array(RoomFileSchema) }).meta({ id: 'RoomFilesResponse' })
export type RoomFilesResponse = z.infer<typeof RoomFilesResponse>
