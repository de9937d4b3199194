import type { Readable } from 'node:stream'
import {
  MAX_LIBRARY_LISTING,
  MAX_LIBRARY_SEARCH_RESULTS,
  type CreateLibraryLinkRequest,
  type LibraryAccess,
  type LibraryEntry,
  type LibraryInfo,
  type LibraryLinkResponse,
  type LibraryListing,
  type LibrarySearchResponse,
  type NotifyOptions,
} from '@sharesync/protocol'
import { lookup as mimeLookup } from 'mime-types'
import { libraryRepo, type LibraryEntryRow, type NewLibraryEntry } from '../db/library.repo'
import { sharesRepo, type FileRow, type NewFile } from '../db/shares.repo'
import type { Deps } from '../deps'
import { AppError } from '../http/app-error'
import type { SessionUser, Viewer } from '../http/viewer'
import { newShareRow, type Admission } from '../shares/admission'
import { shareSummary } from '../shares/common'
import { newId } from '../shares/ids'
import { getFields, UrlSigner } from '../storage/url-signer'
import { zipLength, zipRange, zipStream, type ZipEntry } from '../zip/zip-stream'
import { LibraryFs, type EntryInfo, type LibraryPath } from './library-fs'
import { LIBRARY_KEY_PREFIX } from './library-key'

/** What a link's bytes are, checked against what was recorded when the link was made. */
export interface LibraryDownload {
  size: number
  /** bytes start..end (inclusive) */
  open(start: number, end: number): Readable
  /** releases what was opened to check the link (when nothing is streamed, e.g. HEAD) */
  close(): Promise<void>
}

const changed = () =>
  new AppError('library_file_changed', 'The file behind this link was changed, moved or removed since the link was made.')

/** Called once a link exists, e.g. to store what its owner wants to be told. */
export type OnLinkCreated = (shareId: string, viewer: Viewer, notify: NotifyOptions | undefined) => Promise<void>

/**
 * The library: browse and search LIBRARY_DIR, and make links to a file or folder in place. Only
 * admins and users an admin allowed; every path goes through LibraryFs's checks.
 */
export class LibraryService {
  private readonly signer: UrlSigner

  constructor(
    private readonly deps: Pick<Deps, 'db' | 'events' | 'limits' | 'config'>,
    private readonly admission: Admission,
    readonly fs: LibraryFs | null,
    private readonly onLinkCreated?: OnLinkCreated,
  ) {
    this.signer = new UrlSigner(deps.config.sessionSecret)
  }

  async access(viewer: Viewer): Promise<LibraryAccess> {
    const allowed = viewer.user !== null && this.fs !== null && (await this.allowed(viewer.user))
    return { enabled: this.fs !== null, allowed }
  }

  private async allowed(user: SessionUser): Promise<boolean> {
    return user.role === 'admin' || (await libraryRepo.hasAccess(this.deps.db, user.id))
  }

  /** The library (404 when off), for a signed-in user who may use it (401/403), within the rate limit. */
  private async gate(viewer: Viewer): Promise<{ fs: LibraryFs; user: SessionUser }> {
    if (!this.fs) throw new AppError('library_disabled', 'This server has no library (LIBRARY_DIR is not set).')
    const user = viewer.user
    if (!user) throw new AppError('unauthorized', 'Sign in to use the library.')
    if (!(await this.allowed(user))) throw new AppError('forbidden', 'An administrator has not given you access to the library.')
    await this.deps.limits.consume('library', viewer.clientKey)
    return { fs: this.fs, user }
  }

  async list(viewer: Viewer, input: string): Promise<LibraryListing> {
    const { fs } = await this.gate(viewer)
    if (input.replace(/\/+$/, '') === '') {
      const entries: LibraryEntry[] = []
      for (const name of fs.rootNames) {
        const info = await fs.info(fs.parse(name)).catch(() => null)
        entries.push({ name, path: name, kind: 'folder', size: null, modifiedAt: new Date(info?.mtimeMs ?? 0).toISOString() })
      }
      return { path: '', parent: null, entries, truncated: false }
    }
    const path = fs.parse(input)
    const { entries, truncated } = await fs.list(path, MAX_LIBRARY_LISTING)
    return {
      path: path.text,
      parent: path.segments.length === 0 ? '' : [path.root, ...path.segments.slice(0, -1)].join('/'),
      entries: entries.map((e) => toEntry(e, `${path.text}/${e.name}`)),
      truncated,
    }
  }

  async search(viewer: Viewer, input: string, q: string): Promise<LibrarySearchResponse> {
    const { fs } = await this.gate(viewer)
    const path = fs.parse(input)
    const needle = q.toLocaleLowerCase()
    const { entries, truncated } = await fs.walk(path, MAX_LIBRARY_SEARCH_RESULTS, (name) => name.toLocaleLowerCase().includes(needle))
    return { path: path.text, q, results: entries.map((e) => toEntry(e, `${path.text}/${e.rel}`)), truncated }
  }

  async info(viewer: Viewer, input: string): Promise<LibraryInfo> {
    const { fs } = await this.gate(viewer)
    const path = fs.parse(input)
    const info = await fs.info(path)
    if (info.kind === 'file') return { ...toEntry(info, path.text), files: 1, truncated: false }
    const walk = await fs.walk(path, this.deps.config.library?.maxFolderFiles ?? 0)
    const files = walk.entries.filter((e) => e.kind === 'file')
    return { ...toEntry(info, path.text), size: files.reduce((n, f) => n + f.size, 0), files: files.length, truncated: walk.truncated }
  }

  /**
   * A link to a file or folder in place: nothing is copied. What the link serves is recorded now
   * (size, mtime and inode of every file): if any of it changes, the link stops working (410).
   */
  async createLink(viewer: Viewer, req: CreateLibraryLinkRequest, baseUrl: string): Promise<LibraryLinkResponse> {
    const { fs } = await this.gate(viewer)
    const path = fs.parse(req.path)
    if (req.notify?.downloads === 'last' && !req.maxDownloads) {
      throw new AppError('invalid_input', 'notify.downloads: "last" needs maxDownloads (the last allowed download).')
    }
    const target = await fs.info(path)
    const linked = target.kind === 'file' ? fileLink(path, target) : await this.folderLink(fs, path, target)
    // The same rules as an upload: expiry within the policy, the upload rate (floods of links), a password.
    const admitted = await this.admission.admit(viewer, req, null, 0)
    const id = newId()
    const ownerToken = newId()
    const file: NewFile = {
      id: newId(),
      position: 0,
      name: linked.name,
      size: linked.size,
      contentType: linked.contentType,
      storageKey: `${LIBRARY_KEY_PREFIX}${newId()}`,
      uploadId: null,
      partSize: 0,
      partCount: 0,
    }
    await this.deps.db.tx(async (q) => {
      await sharesRepo.insertShare(q, { ...newShareRow(id, ownerToken, viewer, admitted), status: 'ready' }, [file])
      await sharesRepo.markFileComplete(q, file.id, file.size)
      await libraryRepo.markLibraryShare(q, id)
      await libraryRepo.insertEntries(q, file.id, linked.entries)
    })
    await this.onLinkCreated?.(id, viewer, req.notify)
    this.deps.events.emit('shareCreated', { shareId: id, bytes: 0, files: 1, anonymous: false, userId: viewer.user?.id ?? null })
    return {
      ...shareSummary({ id, expires_at: admitted.expiresAt, max_downloads: admitted.maxDownloads }, baseUrl, ownerToken),
      kind: target.kind,
      name: linked.name,
      size: linked.size,
      files: linked.entries.filter((e) => e.kind === 'file').length,
      path: path.text,
    }
  }

  private async folderLink(fs: LibraryFs, path: LibraryPath, target: EntryInfo) {
    const max = this.deps.config.library?.maxFolderFiles ?? 0
    const walk = await fs.walk(path, max)
    if (walk.truncated) throw new AppError('too_large', `A folder link holds at most ${max} files and folders; link to a smaller folder.`)
    const entries: NewLibraryEntry[] = [
      { path: path.text, rel: '', kind: 'folder', size: 0, mtime_ms: target.mtimeMs, ino: target.ino },
      ...walk.entries.map((e) => ({
        path: `${path.text}/${e.rel}`,
        rel: e.rel,
        kind: e.kind,
        size: e.size,
        mtime_ms: e.mtimeMs,
        ino: e.ino,
      })),
    ]
    const name = `${target.name}.zip`
    return { name, contentType: 'application/zip', size: zipLength(zipEntries(fs, target.name, entries)), entries }
  }

  /** The signed, short-lived URL a library file is downloaded from (the counterpart of a presigned URL). */
  signGet(shareId: string, fileId: string, ttlSeconds: number): string {
    const exp = Math.floor(Date.now() / 1000) + ttlSeconds
    return `/api/library/files/${shareId}/${fileId}?exp=${exp}&sig=${this.signer.sign(libraryGetFields(shareId, fileId, exp))}`
  }

  verifyGet(shareId: string, fileId: string, exp: number, sig: string): void {
    if (!this.signer.verify(libraryGetFields(shareId, fileId, exp), sig))
      throw new AppError('signature_invalid', 'This download link is not valid.')
    if (exp < Date.now() / 1000) throw new AppError('signature_invalid', 'This download link has expired; open the share page again.')
  }

  /**
   * Opens what a library link serves and checks it against the record: a file whose size, mtime or
   * inode differs, or that is gone, answers 410; a folder is checked file by file before the first
   * byte, and each file again as the zip reaches it.
   */
  async openDownload(file: Pick<FileRow, 'id' | 'size'>): Promise<LibraryDownload> {
    const fs = this.fs
    if (!fs) throw new AppError('library_disabled', 'This server has no library (LIBRARY_DIR is not set).')
    const entries = await libraryRepo.entries(this.deps.db, file.id)
    const head = entries[0]
    if (!head) throw changed()
    if (head.kind === 'file') {
      const opened = await openRecorded(fs, head)
      return {
        size: head.size,
        open: (start, end) => opened.handle.createReadStream({ start, end }),
        close: () => opened.handle.close(),
      }
    }
    for (const e of entries) await checkRecorded(fs, e)
    const folderName = head.path.split('/').at(-1)!
    const zip = zipEntries(fs, folderName, entries)
    if (zipLength(zip) !== file.size) throw changed()
    return {
      size: file.size,
      open: (start, end) => (start === 0 && end === file.size - 1 ? zipStream(zip) : zipRange(zip, start, end)),
      close: async () => undefined,
    }
  }
}

const libraryGetFields = (shareId: string, fileId: string, exp: number) =>
  ['LIBRARY', ...getFields(`${shareId}/${fileId}`, exp, '', '')] as const

function toEntry(e: EntryInfo, path: string): LibraryEntry {
  return { name: e.name, path, kind: e.kind, size: e.kind === 'file' ? e.size : null, modifiedAt: new Date(e.mtimeMs).toISOString() }
}

function fileLink(path: LibraryPath, target: EntryInfo) {
  const contentType = mimeLookup(target.name) || 'application/octet-stream'
  return {
    name: target.name,
    contentType,
    size: target.size,
    entries: [{ path: path.text, rel: '', kind: 'file' as const, size: target.size, mtime_ms: target.mtimeMs, ino: target.ino }],
  }
}

/** A recorded file, opened and checked: same size, mtime and inode as when the link was made. */
async function openRecorded(fs: LibraryFs, e: Pick<LibraryEntryRow, 'path' | 'size' | 'mtime_ms' | 'ino'>) {
  let opened
  try {
    opened = await fs.open(fs.parse(e.path), 'file')
  } catch (err) {
    if (err instanceof AppError && err.code === 'library_unavailable') throw err
    throw changed()
  }
  const s = opened.stat
  if (s.size !== e.size || s.mtimeMs !== e.mtime_ms || s.ino !== e.ino) {
    await opened.handle.close()
    throw changed()
  }
  return opened
}

async function checkRecorded(fs: LibraryFs, e: LibraryEntryRow): Promise<void> {
  if (e.kind === 'folder') {
    const info = await fs.info(fs.parse(e.path)).catch((err: unknown) => {
      if (err instanceof AppError && err.code === 'library_unavailable') throw err
      throw changed()
    })
    if (info.kind !== 'folder') throw changed()
    return
  }
  const opened = await openRecorded(fs, e)
  await opened.handle.close()
}

/** The zip of a folder link: the folder's name as the top folder, then its entries in recorded order. */
function zipEntries(
  fs: LibraryFs,
  folderName: string,
  entries: readonly Pick<LibraryEntryRow, 'path' | 'rel' | 'kind' | 'size' | 'mtime_ms' | 'ino'>[],
): ZipEntry[] {
  return entries.map((e) => {
    const name = e.rel ? `${folderName}/${e.rel}` : folderName
    const lastModified = new Date(e.mtime_ms)
    if (e.kind === 'folder') return { name, lastModified, folder: true as const }
    return {
      name,
      size: e.size,
      lastModified,
      open: async () => (await openRecorded(fs, e)).handle.createReadStream() as AsyncIterable<Uint8Array>,
    }
  })
}
