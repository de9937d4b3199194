import { z } from 'zod'
import { NotifyOptions } from './notifications'
import { ShareOptions, type UploadResponse } from './shares'

/**
 * The library: read-only folders on the server (LIBRARY_DIR) that admins and allowed users browse
 * and link to without copying. A library path starts with the library folder's name:
 * `Films/2024/holiday.mkv`. The server checks every path (no `..`, nothing hidden, nothing outside).
 */

export const MAX_LIBRARY_PATH_LENGTH = 4096
/** Entries one folder listing returns at most (`truncated` says there were more). */
export const MAX_LIBRARY_LISTING = 2000
/** Search results at most. */
export const MAX_LIBRARY_SEARCH_RESULTS = 200

const path = z.string().max(MAX_LIBRARY_PATH_LENGTH)

/** `GET /api/library?path=` — empty path: the library folders themselves. */
export const LibraryListQuery = z.object({ path: path.default('') })
/** `GET /api/library/search?path=&q=` */
export const LibrarySearchQuery = z.object({ path: path.min(1), q: z.string().trim().min(1).max(200) })
/** `GET /api/library/info?path=` — a folder's total size and file count too. */
export const LibraryInfoQuery = z.object({ path: path.min(1) })

export interface LibraryEntry {
  name: string
  /** the full library path, to list, search or link */
  path: string
  kind: 'file' | 'folder'
  /** bytes; folders: null in listings (ask /api/library/info) */
  size: number | null
  modifiedAt: string
}

export interface LibraryListing {
  /** '' for the list of library folders */
  path: string
  /** the folder above, '' for a library folder, null for the top */
  parent: string | null
  entries: LibraryEntry[]
  truncated: boolean
}

export interface LibrarySearchResponse {
  path: string
  q: string
  results: LibraryEntry[]
  truncated: boolean
}

export interface LibraryInfo extends LibraryEntry {
  /** folders: files inside (what a folder link would hold) */
  files: number
  /** folders: the walk stopped at the folder-link limit */
  truncated: boolean
}

/** `POST /api/library/links` */
export const CreateLibraryLinkRequest = ShareOptions.extend({
  path: path.min(1),
  notify: NotifyOptions.optional(),
}).strict()
export type CreateLibraryLinkRequest = z.infer<typeof CreateLibraryLinkRequest>

export interface LibraryLinkResponse extends UploadResponse {
  kind: 'file' | 'folder'
  /** the name recipients download: the file's name, or `<folder>.zip` */
  name: string
  /** bytes recipients download (a folder: the exact size of its zip) */
  size: number
  /** files in the link (1 for a file) */
  files: number
  path: string
}

/** `PATCH /api/admin/users/:id/library` — may this user browse the library and make links? */
export const SetLibraryAccessRequest = z.object({ allowed: z.boolean() }).strict()
export type SetLibraryAccessRequest = z.infer<typeof SetLibraryAccessRequest>

/** `GET /api/library/access` — what the web app needs to show the Library page. */
export interface LibraryAccess {
  enabled: boolean
  allowed: boolean
}
