import { z } from 'zod'
import { DownloadResponse, FileId, ShareId, UploadResponse } from '../shares'
import { CreateTextRequest, PreviewContentQuery, PreviewRequest, PreviewResponse, RevealTextRequest, RevealTextResponse, ZipRequest } from '../sharing'
import { routes } from './route'

const share = z.object({ id: ShareId })
const shareFile = z.object({ id: ShareId, fileId: FileId })
const recipient = z.object({
  'x-share-password': z.string().optional().meta({ description: "the share's password, when it has one" }),
  'x-download-lease': z.string().optional().meta({ description: 'a lease of a previous answer, to fetch the zip of a limited share under the same download' }),
})
const zip = { description: 'the whole share as one zip (ZIP64 when needed; folders kept), as an attachment (Range resumes)', contentType: 'application/zip' }
/** ZipContentQuery, as one object: a lease (limited shares) or exp + sig (unlimited shares). */
const zipQuery = z.object({
  lease: z.string().max(100).optional().meta({ description: 'limited shares: the lease of the POST answer' }),
  exp: z.coerce.number().int().positive().optional().meta({ description: 'unlimited shares: when the signature expires (Unix seconds)' }),
  sig: z.string().max(128).optional(),
})
const issueErrors = ['share_not_found', 'password_required', 'password_invalid', 'zip_not_available', 'download_in_progress', 'lease_invalid', 'rate_limited', 'cloud_copy_not_ready', 'cloud_copy_off'] as const

/** What recipients get beyond single files: "Download all" as one zip, previews, text-only shares. */
export const sharingRoutes = routes([
  {
    method: 'head', path: '/api/shares/:id/zip', tag: 'Downloads', auth: 'public',
    summary: "The zip's name and exact size, counting and leasing nothing", params: share, headers: recipient,
    responses: { 200: { description: 'Content-Length and Content-Disposition of the zip' } },
    errors: ['share_not_found', 'password_required', 'password_invalid', 'zip_not_available', 'cloud_copy_not_ready', 'cloud_copy_off'],
  },
  {
    method: 'get', path: '/api/shares/:id/zip', tag: 'Downloads', auth: 'public',
    summary: 'Download all: 302 to the zip (one download of every file; under a lease on limited shares)', params: share, headers: recipient,
    responses: { 302: { description: "to the zip's URL", headers: { Location: 'the zip' } } },
    errors: [...issueErrors],
  },
  {
    method: 'post', path: '/api/shares/:id/zip', tag: 'Downloads', auth: 'public',
    summary: "Download all: the zip's URL as JSON (for apps)", params: share, headers: recipient, body: ZipRequest,
    responses: { 200: DownloadResponse },
    errors: ['invalid_input', ...issueErrors],
  },
  {
    method: 'get', path: '/api/shares/:id/zip/content', tag: 'Downloads', auth: 'signed',
    summary: 'The zip, streamed by the app entry by entry from storage (never held whole)', params: share, query: zipQuery,
    responses: { 200: zip, 206: { ...zip, description: 'the requested range' } },
    errors: ['share_not_found', 'signature_invalid', 'lease_invalid', 'download_link_expired', 'download_link_used', 'range_not_satisfiable', 'storage_unavailable', 'cloud_copy_not_ready', 'cloud_copy_off'],
  },
  {
    method: 'post', path: '/api/shares/:id/files/:fileId/preview', tag: 'Previews', auth: 'public',
    summary: 'A preview grant for a file (never counted as a download)',
    description: 'Images, video, audio, PDF and text only (never HTML, SVG or XML). On a share with a download limit only the first 256 KiB of text files of 1 MiB or more.',
    params: shareFile, headers: recipient, body: PreviewRequest,
    responses: { 200: PreviewResponse },
    errors: ['invalid_input', 'share_not_found', 'password_required', 'password_invalid', 'previews_disabled', 'preview_unsupported', 'rate_limited', 'cloud_copy_not_ready', 'cloud_copy_off'],
  },
  {
    method: 'get', path: '/api/shares/:id/files/:fileId/preview', tag: 'Previews', auth: 'signed',
    summary: "A preview's bytes (inert type, nosniff, sandbox CSP; Range within the grant)", params: shareFile, query: PreviewContentQuery,
    responses: { 200: { description: 'the first bytes the grant allows', contentType: 'application/octet-stream' }, 206: { description: 'the requested range' } },
    errors: ['share_not_found', 'signature_invalid', 'previews_disabled', 'range_not_satisfiable', 'rate_limited', 'cloud_copy_not_ready', 'cloud_copy_off'],
  },
  {
    method: 'post', path: '/api/texts', tag: 'Cloud links', auth: 'public', scope: 'upload',
    summary: 'Share a text (a snippet, a password, a link) with the options of a file link',
    body: CreateTextRequest,
    responses: { 201: UploadResponse },
    errors: ['invalid_input', 'anonymous_uploads_disabled', 'quota_exceeded', 'rate_limited', 'encryption_required', 'password_required_by_policy', 'expiry_not_allowed', 'download_limit_not_allowed'],
  },
  {
    method: 'head', path: '/api/shares/:id/text', tag: 'Cloud links', auth: 'public',
    summary: 'Whether a text share exists (and needs a password), counting nothing', params: share, headers: recipient,
    responses: { 200: { description: 'the text share exists' } },
    errors: ['share_not_found'],
  },
  {
    method: 'get', path: '/api/shares/:id/text', tag: 'Cloud links', auth: 'public',
    summary: 'The text as text/plain (for curl; counts one view)', params: share, headers: recipient,
    responses: { 200: { description: 'the text (plain shares) or the sealed envelope as JSON (encrypted ones)', contentType: 'text/plain' } },
    errors: ['share_not_found', 'password_required', 'password_invalid', 'rate_limited'],
  },
  {
    method: 'post', path: '/api/shares/:id/text', tag: 'Cloud links', auth: 'public',
    summary: 'Reveal the text (counts one view; the last allowed view deletes it)', params: share, headers: recipient, body: RevealTextRequest,
    responses: { 200: RevealTextResponse },
    errors: ['invalid_input', 'share_not_found', 'password_required', 'password_invalid', 'rate_limited'],
  },
])
