import { z } from 'zod'
import {
  CompleteFileRequest,
  CompleteFileResponse,
  CreateShareRequest,
  CreateShareResponse,
  DownloadRequest,
  DownloadResponse,
  FileId,
  ListPartsResponse,
  PublicConfig,
  ShareId,
  ShareMetadata,
  ShareOptionsFromStrings,
  SignPartsRequest,
  SignPartsResponse,
  UploadResponse,
  UploadState,
} from '../shares'
import { routes, type RouteDoc } from './route'

/** `format=url` (or `Accept: text/plain`): the answer is only the page URL and a newline, for shells. */
const uploadQuery = ShareOptionsFromStrings.extend({
  format: z.enum(['json', 'url']).optional().meta({ description: '`url`: answer only the page URL and a newline (text/plain), as does `Accept: text/plain`' }),
})

const share = z.object({ id: ShareId })
const shareFile = z.object({ id: ShareId, fileId: FileId })
/** FileContentQuery, as one object: a lease (limited shares) or exp + sig (unlimited `direct` shares). */
const contentQuery = z.object({
  lease: z.string().max(100).optional().meta({ description: 'limited shares: the lease of the download answer' }),
  exp: z.coerce.number().int().positive().optional().meta({ description: 'unlimited direct shares: when the signature expires (Unix seconds)' }),
  sig: z.string().max(128).optional(),
})
const owner = z.object({ 'x-owner-token': z.string().optional().meta({ description: 'the ownerToken of the create answer (anonymous uploads)' }) })
const recipient = z.object({
  'x-share-password': z.string().optional().meta({ description: "the share's password, when it has one" }),
  'x-download-lease': z.string().optional().meta({ description: 'a lease of a previous answer, to fetch another file of a limited share under the same download' }),
})
const redirect = { description: 'to the file: a presigned storage URL, or the app-streamed URL of a limited share', headers: { Location: 'where the file is' } }
const file = { description: 'the file, as an attachment (Range supported)', contentType: 'application/octet-stream' }
const fileHead = { description: 'the file\'s headers (size, type, name), counting and leasing nothing' }

/** Cloud links: create and upload (browser protocol and curl), read, download, delete. */
export const sharesRoutes = routes([
  {
    method: 'get', path: '/api/config', tag: 'Cloud links', auth: 'public',
    summary: 'Public settings: sign-in providers, limits, defaults, encryption policy',
    responses: { 200: PublicConfig },
  },
  {
    method: 'post', path: '/api/shares', tag: 'Uploads', auth: 'public', scope: 'upload',
    summary: 'Start a browser-style upload (resumable, parts straight to storage)',
    description:
      'Declares the files; the answer gives each file its part size and count. Signed in (session or token with `upload`), the share belongs to the account; anonymous, keep `ownerToken`. `direct: true`: the owner\'s page also serves the link directly while open (visible from creation); with `cloudCopy: false` nothing is ever uploaded (no quota charged, parts refused with `cloud_copy_off`).',
    body: CreateShareRequest,
    responses: { 201: CreateShareResponse },
    errors: ['invalid_input', 'anonymous_uploads_disabled', 'too_large', 'quota_exceeded', 'rate_limited', 'encryption_required', 'password_required_by_policy', 'expiry_not_allowed', 'download_limit_not_allowed'],
  },
  {
    method: 'get', path: '/api/shares/:id/upload', tag: 'Uploads', auth: 'owner', scope: 'upload',
    summary: "The upload's state: what to resume from, and once finalized what became of it (downloads, used up)", params: share, headers: owner,
    responses: { 200: UploadState },
    errors: ['forbidden', 'share_not_found', 'rate_limited'],
  },
  {
    method: 'post', path: '/api/shares/:id/files/:fileId/parts', tag: 'Uploads', auth: 'owner', scope: 'upload',
    summary: 'Signed URLs to PUT parts to', params: shareFile, headers: owner, body: SignPartsRequest,
    responses: { 200: SignPartsResponse },
    errors: ['invalid_input', 'forbidden', 'share_not_found', 'share_finalized', 'file_completed', 'rate_limited', 'cloud_copy_off'],
  },
  {
    method: 'get', path: '/api/shares/:id/files/:fileId/parts', tag: 'Uploads', auth: 'owner', scope: 'upload',
    summary: 'Parts storage already holds', params: shareFile, headers: owner,
    responses: { 200: ListPartsResponse },
    errors: ['forbidden', 'share_not_found', 'not_found', 'cloud_copy_off'],
  },
  {
    method: 'post', path: '/api/shares/:id/files/:fileId/complete', tag: 'Uploads', auth: 'owner', scope: 'upload',
    summary: 'Complete a file from its parts', params: shareFile, headers: owner, body: CompleteFileRequest,
    responses: { 200: CompleteFileResponse },
    errors: ['invalid_input', 'forbidden', 'share_not_found', 'upload_incomplete', 'part_mismatch', 'too_large', 'share_finalized', 'cloud_copy_off'],
  },
  {
    method: 'post', path: '/api/shares/:id/finalize', tag: 'Uploads', auth: 'owner', scope: 'upload',
    summary: 'Make the share downloadable', params: share, headers: owner,
    responses: { 200: UploadResponse },
    errors: ['forbidden', 'share_not_found', 'upload_incomplete', 'cloud_copy_off'],
  },
  {
    method: 'post', path: '/api/upload', tag: 'Uploads', auth: 'public', scope: 'upload',
    summary: 'curl upload: a multipart form, streamed to storage', query: z.object({ format: uploadQuery.shape.format }),
    description: '`curl -F file=@report.pdf -F expiresIn=3600 https://…/api/upload`. Fields: `file` (one or more), `expiresIn`, `maxDownloads`, `password`. The JSON answer ends with a newline; `?format=url` or `Accept: text/plain` answers only the page URL.',
    rawBody: { contentType: 'multipart/form-data', description: 'fields `file` (repeatable), `expiresIn`, `maxDownloads`, `password`', schema: ShareOptionsFromStrings.extend({ file: z.string().meta({ format: 'binary' }) }) },
    responses: { 201: UploadResponse },
    errors: ['invalid_input', 'unsupported_media_type', 'anonymous_uploads_disabled', 'too_large', 'quota_exceeded', 'rate_limited', 'server_busy', 'insufficient_storage', 'encryption_required', 'password_required_by_policy', 'expiry_not_allowed', 'download_limit_not_allowed'],
  },
  ...(['/api/upload/:filename', '/api/upload'] as const).map(
    (path): RouteDoc => ({
      method: 'put', path, tag: 'Uploads', auth: 'public', scope: 'upload',
      summary: path.endsWith(':filename') ? 'curl upload: the raw body is the file (`curl -T file URL`)' : 'curl upload without a name (a pipe, `/dev/null`): stored as `upload-<date>-<time>.<ext>`',
      description: 'A `filename` of `-` or `null` (what curl appends for `-T -` and `-T /dev/null`) also gets the default name.',
      ...(path.endsWith(':filename') ? { params: z.object({ filename: z.string().min(1).max(10_000) }) } : {}),
      query: uploadQuery,
      rawBody: { contentType: 'application/octet-stream', description: "the file's bytes (any length; chunked is fine)" },
      responses: { 201: UploadResponse },
      errors: ['invalid_input', 'anonymous_uploads_disabled', 'too_large', 'quota_exceeded', 'rate_limited', 'server_busy', 'insufficient_storage', 'encryption_required', 'password_required_by_policy', 'expiry_not_allowed', 'download_limit_not_allowed'],
    }),
  ),
  {
    method: 'get', path: '/api/shares/:id', tag: 'Cloud links', auth: 'public',
    summary: "A share's metadata (only `passwordRequired` before its password is given)", params: share, headers: recipient,
    responses: { 200: ShareMetadata },
    errors: ['share_not_found', 'password_invalid', 'rate_limited'],
  },
  ...(['/api/shares/:id/download', '/api/shares/:id/files/:fileId/download'] as const).flatMap((path) => {
    const params = path.includes(':fileId') ? shareFile : share
    const which = path.includes(':fileId') ? 'one file of a share' : 'a single-file share'
    const errors = ['share_not_found', 'password_required', 'password_invalid', 'download_in_progress', 'lease_invalid', 'rate_limited', 'storage_unavailable', 'cloud_copy_not_ready', 'cloud_copy_off'] as const
    return routes([
      { method: 'get', path, tag: 'Downloads', auth: 'public', summary: `Download ${which} (302 to the file; an unlimited share counts it now, a limited one once the file was sent whole)`, params, headers: recipient, responses: { 302: redirect }, errors: [...errors] },
      { method: 'post', path, tag: 'Downloads', auth: 'public', summary: `Download ${which}: the file's URL as JSON (for apps)`, params, headers: recipient, body: DownloadRequest, responses: { 200: DownloadResponse }, errors: ['invalid_input', ...errors] },
      { method: 'head', path, tag: 'Downloads', auth: 'public', summary: `Check ${which} without downloading`, params, headers: recipient, responses: { 200: fileHead }, errors: ['share_not_found', 'password_required', 'password_invalid', 'cloud_copy_not_ready', 'cloud_copy_off'] },
    ])
  }),
  {
    method: 'get', path: '/api/shares/:id/files/:fileId/content', tag: 'Downloads', auth: 'public',
    summary: "A file streamed by the app (Range resumes): a limited share's under its lease, an unlimited direct share's under the app's signature", params: shareFile, query: contentQuery,
    responses: { 200: file, 206: { ...file, description: 'the requested range' } },
    errors: ['share_not_found', 'lease_invalid', 'signature_invalid', 'download_link_expired', 'download_link_used', 'range_not_satisfiable', 'storage_unavailable', 'cloud_copy_not_ready', 'cloud_copy_off'],
  },
  {
    method: 'delete', path: '/api/shares/:id', tag: 'Cloud links', auth: 'owner', scope: 'delete',
    summary: 'Delete a share and its files (owner, X-Owner-Token or admin)', params: share, headers: owner,
    responses: { 204: { description: 'deleted' } },
    errors: ['forbidden', 'share_not_found'],
  },
])
