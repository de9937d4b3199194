import { readJson, writeJson } from '../../lib/features'

/**
 * What this browser remembers about cloud links, in localStorage:
 * - pending uploads (to resume after a reload or a dropped connection: the server lists stored parts,
 *   the user re-selects the same files because browsers cannot re-open a file after a reload);
 * - links created here, with the owner token that allows deleting them.
 */

export interface PendingFile {
  fileId: string
  name: string
  size: number
  type: string
  lastModified: number
  partSize: number
  partCount: number
}

export interface PendingUpload {
  shareId: string
  ownerToken: string
  url: string
  expiresAt: string
  maxDownloads: number | null
  passwordProtected: boolean
  /** End-to-end encrypted: the key waits in IndexedDB (encryption/key-store.ts) to resume. */
  encrypted?: boolean
  createdAt: string
  files: PendingFile[]
}

export interface OwnedLink {
  id: string
  url: string
  ownerToken: string
  expiresAt: string
  maxDownloads: number | null
  passwordProtected: boolean
  /** End-to-end encrypted: `url` has no key; the whole link is rebuilt from the key in IndexedDB. */
  encrypted?: boolean
  /** a text-only share (no files) */
  kind?: 'text'
  createdAt: string
  files: { name: string; size: number }[]
}

const PENDING_KEY = 'sharesync.pending-upload'
const LINKS_KEY = 'sharesync.links'
const MAX_LINKS = 50

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null

function isPendingUpload(v: unknown): v is PendingUpload {
  return isObject(v) && typeof v.shareId === 'string' && typeof v.ownerToken === 'string' && Array.isArray(v.files)
}

function isLinkList(v: unknown): v is OwnedLink[] {
  return Array.isArray(v) && v.every((l) => isObject(l) && typeof l.id === 'string' && typeof l.ownerToken === 'string')
}

export const pendingUploads = {
  get: (): PendingUpload | null => {
    const p = readJson(PENDING_KEY, isPendingUpload)
    // An upload whose share has expired can never be resumed.
    return p && Date.parse(p.expiresAt) > Date.now() ? p : null
  },
  save: (p: PendingUpload) => writeJson(PENDING_KEY, p),
  clear: () => writeJson(PENDING_KEY, null),
}

export const ownedLinks = {
  all: (): OwnedLink[] => (readJson(LINKS_KEY, isLinkList) ?? []).filter((l) => Date.parse(l.expiresAt) > Date.now()),
  get: (id: string): OwnedLink | null => ownedLinks.all().find((l) => l.id === id) ?? null,
  add: (link: OwnedLink) => writeJson(LINKS_KEY, [link, ...ownedLinks.all().filter((l) => l.id !== link.id)].slice(0, MAX_LINKS)),
  remove: (id: string) =>
    writeJson(
      LINKS_KEY,
      ownedLinks.all().filter((l) => l.id !== id),
    ),
}

/** The same file as before a reload: same name, size and modification time. */
export function sameFile(file: File, p: PendingFile): boolean {
  return file.name === p.name && file.size === p.size && (p.lastModified === 0 || file.lastModified === p.lastModified)
}
