import { z } from 'zod'
import { BlobGetQuery, BlobPartParams, BlobPartQuery } from '../blobs'
import { RoomFilesResponse } from '../room-files'
import { IceServersResponse, RoomSecret } from '../rooms'
import { routes } from './route'

const Health = z
  .object({
    status: z.enum(['ok', 'degraded', 'draining', 'unavailable']),
    db: z.enum(['pglite', 'postgres']),
    storage: z.enum(['disk', 's3']),
    redis: z.boolean(),
    draining: z.boolean().optional(),
    degraded: z.array(z.string()).optional(),
    failing: z.array(z.string()).optional(),
  })
  .meta({ id: 'Health' })

/** Health, metrics, WebRTC servers, the OpenAPI document and the disk store's signed URLs. */
export const opsRoutes = routes([
  { method: 'get', path: '/api/health', tag: 'Operations', auth: 'public', summary: 'Liveness: 200 while the process serves HTTP', responses: { 200: Health } },
  { method: 'get', path: '/api/health/ready', tag: 'Operations', auth: 'public', summary: 'Readiness for balancers: 503 naming what is down, or while draining', responses: { 200: Health, 503: Health } },
  { method: 'get', path: '/metrics', tag: 'Operations', auth: 'public', summary: 'Prometheus metrics (METRICS_TOKEN as a Bearer token when set; loopback only otherwise)', responses: { 200: { description: 'Prometheus text format', contentType: 'text/plain' } }, errors: ['unauthorized', 'forbidden'] },
  { method: 'get', path: '/api/openapi.json', tag: 'Operations', auth: 'public', summary: 'This document: OpenAPI 3.1, generated from the protocol\'s schemas', responses: { 200: { description: 'the OpenAPI document', contentType: 'application/json' } } },
  {
    method: 'get', path: '/api/rooms/files', tag: 'Peer to peer', auth: 'public',
    summary: "The files left in a room (its link's secret in X-Room-Secret); downloads go through the room's members (files:url)",
    headers: z.object({ 'x-room-secret': RoomSecret }),
    responses: { 200: RoomFilesResponse },
    errors: ['invalid_input', 'room_not_found', 'rate_limited'],
  },
  { method: 'get', path: '/api/rtc/ice-servers', tag: 'Peer to peer', auth: 'public', summary: 'STUN/TURN servers for WebRTC, with time-limited TURN credentials', responses: { 200: IceServersResponse }, errors: ['rate_limited'] },
  {
    method: 'put', path: '/api/blobs/parts/:uploadId/:partNumber', tag: 'Storage (disk)', auth: 'signed',
    summary: 'PUT one part of a multipart upload to its signed URL (the disk store\'s stand-in for S3)',
    params: BlobPartParams, query: BlobPartQuery,
    rawBody: { contentType: 'application/octet-stream', description: "the part's bytes, exactly its expected size" },
    responses: { 200: { description: 'stored', headers: { ETag: 'names the stored part (send it to complete)' } } },
    errors: ['signature_invalid', 'too_large', 'unsupported_media_type', 'insufficient_storage'],
  },
  {
    method: 'get', path: '/api/blobs/o/*key', tag: 'Storage (disk)', auth: 'signed',
    summary: 'A stored file at its signed URL, always as an attachment (Range supported)',
    params: z.object({ key: z.string() }), query: BlobGetQuery,
    responses: { 200: { description: 'the file', contentType: 'application/octet-stream' }, 206: { description: 'the requested range', contentType: 'application/octet-stream' } },
    errors: ['signature_invalid', 'not_found', 'range_not_satisfiable'],
  },
])
