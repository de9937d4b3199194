import type {
  CreateLibraryLinkRequest,
  LibraryAccess,
  LibraryInfo,
  LibraryLinkResponse,
  LibraryListing,
  LibrarySearchResponse,
} from '@sharesync/protocol'
import { api } from '../../lib/api'

const q = (params: Record<string, string>) => `?${new URLSearchParams(params)}`

/** Typed calls of the library API (`/api/library/*`). */
export const libraryApi = {
  access: () => api<LibraryAccess>('/api/library/access'),
  list: (path: string) => api<LibraryListing>(`/api/library${q({ path })}`),
  search: (path: string, query: string) => api<LibrarySearchResponse>(`/api/library/search${q({ path, q: query })}`),
  info: (path: string) => api<LibraryInfo>(`/api/library/info${q({ path })}`),
  createLink: (body: CreateLibraryLinkRequest) => api<LibraryLinkResponse>('/api/library/links', { method: 'POST', body }),
}
