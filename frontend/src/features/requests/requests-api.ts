import type {
  CreateFileRequest,
  CreateRequestUpload,
  CreateShareResponse,
  FileRequestList,
  FileRequestView,
  PublicFileRequest,
  ReceivedToShare,
  UploadResponse,
} from '@sharesync/protocol'
import { api } from '../../lib/api'

const enc = encodeURIComponent

/** Typed calls of the file request API: the requester's (/api/me/requests) and the upload page's. */
export const requestsApi = {
  create: (body: CreateFileRequest) => api<FileRequestView>('/api/me/requests', { method: 'POST', body }),
  list: async () => (await api<FileRequestList>('/api/me/requests')).requests,
  close: (id: string) => api<void>(`/api/me/requests/${enc(id)}`, { method: 'DELETE' }),
  toShare: (id: string, uploadId: string, body: ReceivedToShare) =>
    api<UploadResponse>(`/api/me/requests/${enc(id)}/uploads/${enc(uploadId)}/share`, { method: 'POST', body }),
  removeUpload: (id: string, uploadId: string) => api<void>(`/api/me/requests/${enc(id)}/uploads/${enc(uploadId)}`, { method: 'DELETE' }),

  describe: (id: string, password?: string) =>
    api<PublicFileRequest>(`/api/requests/${enc(id)}`, { headers: password ? { 'X-Request-Password': password } : {} }),
  startUpload: (id: string, body: CreateRequestUpload) =>
    api<CreateShareResponse>(`/api/requests/${enc(id)}/uploads`, { method: 'POST', body }),
}
