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

export interface RoomFile {
  /** the room file's id (its share's id) */
  id: string
  name: string
  size: number
  type: string
  /** the member who left it (`peerId` as in the room; `name` as it was then) */
  leftBy: { peerId: string; name: string }
  leftAt: string
  /** when it is deleted from storage */
  expiresAt: string
}

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

/** REST: GET /api/rooms/files with the room's link secret in `X-Room-Secret`. */
export const ROOM_SECRET_HEADER = 'x-room-secret'
export interface RoomFilesResponse {
  files: RoomFile[]
}
