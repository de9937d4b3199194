import { z } from 'zod'
import { CreateShareResponse, ShareId, UploadResponse } from '../shares'
import { CreateFileRequest, CreateRequestUpload, FileRequestList, FileRequestView, PublicFileRequest, ReceivedToShare, RequestId } from '../requests'
import { routes } from './route'

const request = z.object({ id: RequestId })
const received = z.object({ id: RequestId, uploadId: ShareId })
const asked = z.object({ 'x-request-password': z.string().optional().meta({ description: "the request's password, when it has one" }) })
const closedErrors = ['request_not_found', 'request_expired', 'request_used_up'] as const

/** File requests (reverse shares): the requester's routes, and the two the people asked use. */
export const requestRoutes = routes([
  {
    method: 'post', path: '/api/me/requests', tag: 'File requests', auth: 'user', scope: 'manage',
    summary: 'Make a file request link (title, message, limits, expiry, optional password)', body: CreateFileRequest,
    responses: { 201: FileRequestView }, errors: ['invalid_input', 'encryption_required'],
  },
  {
    method: 'get', path: '/api/me/requests', tag: 'File requests', auth: 'user', scope: 'read',
    summary: 'Your file requests, newest first, with what arrived in each', responses: { 200: FileRequestList },
  },
  {
    method: 'get', path: '/api/me/requests/:id', tag: 'File requests', auth: 'user', scope: 'read',
    summary: 'One of your file requests with what arrived', params: request, responses: { 200: FileRequestView }, errors: ['request_not_found'],
  },
  {
    method: 'delete', path: '/api/me/requests/:id', tag: 'File requests', auth: 'user', scope: 'manage',
    summary: 'Close a file request: it takes no more uploads (what arrived stays)', params: request,
    responses: { 204: { description: 'closed' } }, errors: ['request_not_found'],
  },
  {
    method: 'post', path: '/api/me/requests/:id/uploads/:uploadId/share', tag: 'File requests', auth: 'user', scope: 'upload',
    summary: 'Turn a received upload into a share of yours (a new link with its own options)', params: received, body: ReceivedToShare,
    responses: { 201: UploadResponse }, errors: ['request_not_found', 'not_found', 'invalid_input', 'encryption_required', 'password_required_by_policy', 'expiry_not_allowed', 'download_limit_not_allowed'],
  },
  {
    method: 'delete', path: '/api/me/requests/:id/uploads/:uploadId', tag: 'File requests', auth: 'user', scope: 'delete',
    summary: 'Remove a received upload (its files are deleted from storage)', params: received,
    responses: { 204: { description: 'removed' } }, errors: ['request_not_found', 'not_found'],
  },
  {
    method: 'get', path: '/api/requests/:id', tag: 'File requests', auth: 'public',
    summary: 'What the upload page shows: title, message, what is still accepted (only the title until the password is given)',
    params: request, headers: asked, responses: { 200: PublicFileRequest }, errors: [...closedErrors, 'password_invalid', 'rate_limited'],
  },
  {
    method: 'post', path: '/api/requests/:id/uploads', tag: 'File requests', auth: 'public',
    summary: 'Start an upload into a file request; continue it with the share upload routes and the owner token',
    description: 'The limits of the request (total size, files, types, uses) are reserved here; the requester\'s daily quota pays for the bytes.',
    params: request, body: CreateRequestUpload, responses: { 201: CreateShareResponse },
    errors: [...closedErrors, 'invalid_input', 'password_required', 'password_invalid', 'request_limit_exceeded', 'request_type_refused', 'too_large', 'quota_exceeded', 'rate_limited', 'storage_unavailable'],
  },
])
