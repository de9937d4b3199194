import type {
  CreateShareRequest,
  CreateShareResponse,
  CreateTextRequest,
  PreviewResponse,
  RevealTextResponse,
  UploadResponse,
  DownloadResponse,
  ListPartsResponse,
  ShareMetadata,
  SignPartsResponse,
  UploadState,
} from '@sharesync/protocol'
import { api } from '../../lib/api'

/** Typed calls of the cloud-link API (API.md). Owner-only calls carry the owner token kept in this browser. */

const enc = encodeURIComponent
const owner = (ownerToken: string) => ({ 'X-Owner-Token': ownerToken })

export const cloudApi = {
  createShare: (body: CreateShareRequest) => api<CreateShareResponse>('/api/shares', { method: 'POST', body }),

  signParts: (shareId: string, fileId: string, ownerToken: string, partNumbers: number[]) =>
    api<SignPartsResponse>(`/api/shares/${enc(shareId)}/files/${enc(fileId)}/parts`, {
      method: 'POST',
      body: { partNumbers },
      headers: owner(ownerToken),
    }),

  /** What the server holds of an upload: the one source a resume starts from. */
  uploadState: (shareId: string, ownerToken: string) => api<UploadState>(`/api/shares/${enc(shareId)}/upload`, { headers: owner(ownerToken) }),

  listParts: (shareId: string, fileId: string, ownerToken: string) =>
    api<ListPartsResponse>(`/api/shares/${enc(shareId)}/files/${enc(fileId)}/parts`, { headers: owner(ownerToken) }),

  completeFile: (shareId: string, fileId: string, ownerToken: string, parts: { partNumber: number; etag: string }[]) =>
    api<{ size: number }>(`/api/shares/${enc(shareId)}/files/${enc(fileId)}/complete`, {
      method: 'POST',
      body: { parts },
      headers: owner(ownerToken),
    }),

  finalize: (shareId: string, ownerToken: string) =>
    api<ShareMetadata>(`/api/shares/${enc(shareId)}/finalize`, { method: 'POST', headers: owner(ownerToken) }),

  getShare: (shareId: string, password?: string) =>
    api<ShareMetadata>(`/api/shares/${enc(shareId)}`, { headers: password ? { 'X-Share-Password': password } : {} }),

  /** `lease`: on a share with a download limit, the lease an earlier answer gave (every file under one download). */
  requestDownload: (shareId: string, fileId: string, password?: string, lease?: string) =>
    api<DownloadResponse>(`/api/shares/${enc(shareId)}/files/${enc(fileId)}/download`, {
      method: 'POST',
      body: { ...(password ? { password } : {}), ...(lease ? { lease } : {}) },
    }),

  /** "Download all": the zip's URL (under the lease on a limited share). */
  requestZip: (shareId: string, password?: string, lease?: string) =>
    api<DownloadResponse>(`/api/shares/${enc(shareId)}/zip`, {
      method: 'POST',
      body: { ...(password ? { password } : {}), ...(lease ? { lease } : {}) },
    }),

  /** A preview's URL: never counted as a download. */
  preview: (shareId: string, fileId: string, password?: string) =>
    api<PreviewResponse>(`/api/shares/${enc(shareId)}/files/${enc(fileId)}/preview`, { method: 'POST', body: password ? { password } : {} }),

  createText: (body: CreateTextRequest) => api<UploadResponse>('/api/texts', { method: 'POST', body }),

  /** Reveals a text share's text: one download (a view). */
  revealText: (shareId: string, password?: string) =>
    api<RevealTextResponse>(`/api/shares/${enc(shareId)}/text`, { method: 'POST', body: password ? { password } : {} }),

  deleteShare: (shareId: string, ownerToken: string) =>
    api<void>(`/api/shares/${enc(shareId)}`, { method: 'DELETE', headers: owner(ownerToken) }),
}
