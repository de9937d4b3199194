import { z } from 'zod'
import { NotifyOptions } from './notifications'
import { ShareOptions, UploadResponse } from './shares'

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

const isoTime = z.string().meta({ format: 'date-time' })

export const LibraryEntry = z
  .object({
    name: z.string(),
    /** the full library path, to list, search or link */
    path: z.string(),
    kind: z.enum(['file', 'folder']),
    /** bytes; folders: null in listings (ask /api/library/info) */
    size: z.number().int().nullable(),
    modifiedAt: isoTime,
  })
  .meta({ id: 'LibraryEntry' })
export type LibraryEntry = z.infer<typeof LibraryEntry>

export const LibraryListing = z
  .object({
    /** '' for the list of library folders */
    path: z.string(),
    /** the folder above, '' for a library folder, null for the top */
    parent: z.string().nullable(),
    entries: z.array(LibraryEntry),
    truncated: z.boolean(),
  })
  .meta({ id: 'LibraryListing' })
export type LibraryListing = z.infer<typeof LibraryListing>

export const LibrarySearchResponse = z
  .object({ path: z.string(), q: z.string(), results: z.array(LibraryEntry), truncated: z.boolean() })
  .meta({ id: 'LibrarySearchResponse' })
export type LibrarySearchResponse = z.infer<typeof LibrarySearchResponse>

export const LibraryInfo = LibraryEntry.extend({
  /** folders: files inside (what a folder link would hold) */
  files: z.number().int(),
  /** folders: the walk stopped at the folder-link limit */
  truncated: z.boolean(),
}).meta({ id: 'LibraryInfo' })
export type LibraryInfo = z.infer<typeof LibraryInfo>

/** `POST /api/library/links` */
export const CreateLibraryLinkRequest = ShareOptions.extend({
  path: path.min(1),
  notify: NotifyOptions.optional(),
}).strict()
export type CreateLibraryLinkRequest = z.infer<typeof CreateLibraryLinkRequest>

export const LibraryLinkResponse = UploadResponse.extend({
  kind: z.enum(['file', 'folder']),
  /** the name recipients download: the file's name, or `<folder>.zip` */
  name: z.string(),
  /** bytes recipients download (a folder: the exact size of its zip) */
  size: z.number().int(),
  /** files in the link (1 for a file) */
  files: z.number().int(),
  path: z.string(),
}).meta({ id: 'LibraryLinkResponse' })
export type LibraryLinkResponse = z.infer<typeof LibraryLinkResponse>

/** `PATCH /api/admin/users/:id/library` — may this user browse the library and make links? */
export const SetLibraryAccessRequest = z.object({ allowed: z.boolean() }).strict()
export type SetLibraryAccessRequest = z.infer<typeof SetLibraryAccessRequest>

/** `GET /api/library/access` — what the web app needs to show the Library page. */
export const LibraryAccess = z.object({ enabled: z.boolean(), allowed: z.boolean() }).meta({ id: 'LibraryAccess' })
export type LibraryAccess = z.infer<typeof LibraryAccess>

/** `PATCH /api/admin/users/:id/library` answers */
export const LibraryAccessChanged = z.object({ id: z.string(), allowed: z.boolean() })
