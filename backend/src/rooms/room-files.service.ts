import type { LeaveFile, LeftUpload, RoomFile, RoomFileUrl } from '@sharesync/protocol'
import { roomFilesRepo, type RoomFileRow } from '../db/room-files.repo'
import { sharesRepo, type NewFile } from '../db/shares.repo'
import type { Deps } from '../deps'
import { AppError } from '../http/app-error'
import type { Viewer } from '../http/viewer'
import { newShareRow, type Admission } from '../shares/admission'
import { absolute, storage } from '../shares/common'
import type { ShareDeletion } from '../shares/deletion.service'
import { newId, newStorageKey } from '../shares/ids'
import { partLayout } from '../shares/upload.service'

export type RoomFilesDeps = Pick<Deps, 'db' | 'store'> & { config: Pick<Deps['config'], 'partSize' | 'presignTtl' | 'rooms'> }

/** The member asking: the room it is in now and its peer id there. */
export interface RoomMember {
  roomId: string
  peerId: string
  name: string
}

const notFound = () => new AppError('room_file_not_found', 'This file is no longer in the room (it was removed or has expired).')

/**
 * Files left in a room: a share owned by the room (one file each), uploaded through the share
 * upload API, listed and downloaded by the room's members only, through short-lived signed URLs.
 * Deleted with their blobs when they expire (the janitor, like every share) or when the member who
 * left one removes it (claim, then work: ShareDeletion).
 */
export class RoomFiles {
  constructor(
    private readonly deps: RoomFilesDeps,
    private readonly admission: Admission,
    private readonly deletion: Pick<ShareDeletion, 'deleteNow'>,
  ) {}

  /** Creates the share for one file: the upload limits, rate and quota of a cloud link apply. */
  async leave(viewer: Viewer, member: RoomMember, file: LeaveFile): Promise<LeftUpload> {
    const { db, store, config } = this.deps
    if ((await roomFilesRepo.count(db, member.roomId)) >= config.rooms.filesMax) {
      throw new AppError('room_files_full', `This room holds ${config.rooms.filesMax} files already: remove one first.`)
    }
    const name = file.name.normalize('NFC')
    const type = file.type ?? 'application/octet-stream'
    const admitted = await this.admission.admit(viewer, {}, file.size, file.size, { encrypted: false, room: true })
    // The room's file lifetime, never longer than the viewer's policy allows for a link.
    const ttl = Math.min(config.rooms.filesTtl, admitted.policy.maxExpiry)
    const expiresAt = new Date(Date.now() + ttl * 1000)
    const id = newId()
    const ownerToken = newId()
    const { partSize, partCount } = partLayout(file.size, config.partSize)
    const storageKey = newStorageKey(id)
    let uploadId: string | null = null
    try {
      if (partCount > 0) uploadId = (await storage(() => store.createMultipart(storageKey, { contentType: type, maxPartBytes: partSize }))).uploadId
      const row: NewFile = { id: newId(), position: 0, name, path: '', size: file.size, contentType: type, storageKey, uploadId, partSize, partCount }
      await db.tx(async (q) => {
        await sharesRepo.insertShare(q, newShareRow(id, ownerToken, viewer, { ...admitted, expiresAt, maxDownloads: null, passwordHash: null }, null, { previews: false }), [row])
        await roomFilesRepo.attach(q, id, member.roomId, member)
      })
      return { id, ownerToken, expiresAt: expiresAt.toISOString(), file: { id: row.id, name, partSize, partCount } }
    } catch (err) {
      if (uploadId) await store.abortMultipart(storageKey, uploadId).catch(() => undefined)
      await this.admission.refund(viewer, admitted.live, file.size)
      throw err
    }
  }

  /** The file `member` left is uploaded (finalized through the share API): what the room is told. */
  async ready(member: RoomMember, shareId: string): Promise<RoomFile> {
    const row = await roomFilesRepo.find(this.deps.db, member.roomId, shareId)
    if (!row || row.left_by !== member.peerId) throw notFound()
    if (row.status !== 'ready') throw new AppError('upload_incomplete', 'This file is not completely uploaded yet.')
    return roomFile(row)
  }

  async list(roomId: string): Promise<RoomFile[]> {
    return (await roomFilesRepo.listReady(this.deps.db, roomId)).map(roomFile)
  }

  /** A signed download URL for a member of the file's room. */
  async url(member: RoomMember, shareId: string, baseUrl: string): Promise<RoomFileUrl> {
    const row = await roomFilesRepo.find(this.deps.db, member.roomId, shareId)
    if (!row || row.status !== 'ready') throw notFound()
    const ttl = Math.max(1, Math.min(this.deps.config.presignTtl, Math.floor((row.expires_at.getTime() - Date.now()) / 1000)))
    const url = await storage(() => this.deps.store.signGet(row.storage_key, { filename: row.name, contentType: row.content_type, ttlSeconds: ttl }))
    return { url: absolute(url, baseUrl), expiresAt: new Date(Date.now() + ttl * 1000).toISOString() }
  }

  /** Only the member who left it removes a file; it answers 404 at once, its blobs go now (or, if storage fails, later). */
  async remove(member: RoomMember, shareId: string): Promise<void> {
    const row = await roomFilesRepo.find(this.deps.db, member.roomId, shareId)
    if (!row) throw notFound()
    if (row.left_by !== member.peerId) throw new AppError('forbidden', 'Only the person who left this file can remove it.')
    if (!(await this.deletion.deleteNow(shareId, 'owner'))) throw notFound()
  }

  /** When the room's last file expires (the room is kept until then, even empty), or null. */
  async keptUntil(roomId: string): Promise<number | null> {
    return (await roomFilesRepo.keptUntil(this.deps.db, roomId))?.getTime() ?? null
  }
}

function roomFile(row: RoomFileRow): RoomFile {
  return {
    id: row.id,
    name: row.name,
    size: Number(row.size),
    type: row.content_type,
    leftBy: { peerId: row.left_by, name: row.left_by_name },
    leftAt: (row.finalized_at ?? row.created_at).toISOString(),
    expiresAt: row.expires_at.toISOString(),
  }
}
