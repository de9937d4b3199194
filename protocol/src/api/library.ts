import { z } from 'zod'
import { FileId, ShareId } from '../shares'
import {
  CreateLibraryLinkRequest,
  LibraryAccess,
  LibraryInfo,
  LibraryInfoQuery,
  LibraryLinkResponse,
  LibraryListing,
  LibraryListQuery,
  LibrarySearchQuery,
  LibrarySearchResponse,
} from '../library'
import { routes } from './route'

const refused = ['unauthorized', 'library_disabled', 'library_forbidden', 'library_path_invalid', 'library_not_found', 'rate_limited'] as const

/** The library: folders on the server shared in place (admins and allowed users). */
export const libraryRoutes = routes([
  { method: 'get', path: '/api/library/access', tag: 'Library', auth: 'public', summary: 'Whether the library exists and this user may use it', responses: { 200: LibraryAccess } },
  { method: 'get', path: '/api/library', tag: 'Library', auth: 'user', scope: 'read', summary: "A folder's entries ('' lists the library folders)", query: LibraryListQuery, responses: { 200: LibraryListing }, errors: [...refused, 'invalid_input'] },
  { method: 'get', path: '/api/library/search', tag: 'Library', auth: 'user', scope: 'read', summary: 'Entries below a folder whose name contains q', query: LibrarySearchQuery, responses: { 200: LibrarySearchResponse }, errors: [...refused, 'invalid_input'] },
  { method: 'get', path: '/api/library/info', tag: 'Library', auth: 'user', scope: 'read', summary: "One entry; a folder's total size and file count", query: LibraryInfoQuery, responses: { 200: LibraryInfo }, errors: [...refused, 'invalid_input'] },
  { method: 'post', path: '/api/library/links', tag: 'Library', auth: 'user', scope: 'upload', summary: 'A link to a library file or folder, without copying', body: CreateLibraryLinkRequest, responses: { 201: LibraryLinkResponse }, errors: [...refused, 'invalid_input', 'library_unavailable'] },
  {
    method: 'get', path: '/api/library/files/:shareId/:fileId', tag: 'Library', auth: 'signed',
    summary: "A library link's bytes (the signed URL a download route gives)",
    params: z.object({ shareId: ShareId, fileId: FileId }),
    query: z.object({ exp: z.string(), sig: z.string() }),
    responses: { 200: { description: 'the file (Range supported)', contentType: 'application/octet-stream' }, 206: { description: 'the requested range', contentType: 'application/octet-stream' } },
    errors: ['signature_invalid', 'share_not_found', 'library_file_changed', 'range_not_satisfiable'],
  },
])
