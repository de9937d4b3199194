/**
 * The one error table. Every JSON error the API answers is `{ error: { code, message } }`,
 * with `code` from this table and the HTTP status it maps to.
 */
export const ERRORS = {
  invalid_input: 400,
  invalid_json: 400,
  unauthorized: 401,
  password_required: 401,
  password_invalid: 401,
  anonymous_uploads_disabled: 401,
  forbidden: 403,
  csrf_rejected: 403,
  signature_invalid: 403,
  state_invalid: 403,
  account_disabled: 403,
  not_found: 404,
  share_not_found: 404,
  room_not_found: 404,
  conflict: 409,
  room_full: 409,
  upload_incomplete: 409,
  share_not_ready: 409,
  /** The share was finalized: its files can no longer be changed (nothing left to upload). */
  share_finalized: 409,
  /** This file is already complete: no more parts are accepted for it. */
  file_completed: 409,
  /** A part in storage is not the one named (ETag differs) or has the wrong size. */
  part_mismatch: 409,
  too_large: 413,
  quota_exceeded: 413,
  range_not_satisfiable: 416,
  unsupported_media_type: 415,
  rate_limited: 429,
  /** This instance is streaming as many uploads as it may at once: retry after Retry-After. */
  server_busy: 429,
  internal: 500,
  /** The server's storage is full: nothing was kept of this upload. */
  insufficient_storage: 507,
  storage_unavailable: 503,
  database_unavailable: 503,
  redis_unavailable: 503,
  auth_provider_unavailable: 503,
  resume_refused: 403,
  nearby_unavailable: 403,
  relay_disabled: 403,
  relay_closed: 410,
  library_disabled: 404,
  library_not_found: 404,
  library_path_invalid: 400,
  library_forbidden: 403,
  library_file_changed: 410,
  library_unavailable: 503,
  download_not_active: 404,
  webhook_target_refused: 400,
  encryption_required: 403,
  shutting_down: 503,
  /** a limited share's remaining downloads are all being downloaded right now (free again if they stop) */
  download_in_progress: 409,
  /** a download link of a limited share whose lease token is wrong, or another share's */
  lease_invalid: 403,
  /** a download link of a limited share whose lease lapsed or was given back */
  download_link_expired: 410,
  /** a download link of a limited share whose file was already sent completely */
  download_link_used: 410,
  request_timeout: 408,
  too_many_connections: 429,
  /** a Google account whose e-mail belongs to another account here (accounts are linked by Google's `sub` only) */
  identity_conflict: 409,
  /** a one-time admin sign-in link that was already used, replaced or has expired */
  admin_link_used: 403,
  /** "Download all" of an end-to-end encrypted share: the web app builds that zip in the browser */
  zip_not_available: 409,
  /** the share's owner or the admin turned previews off */
  previews_disabled: 403,
  /** this file is never previewed (its type, its size, or the share's download limit) */
  preview_unsupported: 415,
  /** the admin's policy requires a password on this link (e.g. on links made without signing in) */
  password_required_by_policy: 400,
  /** the admin's policy allows only some expiry presets for links of this audience, and this is not one */
  expiry_not_allowed: 400,
  /** the admin's policy allows only some download limits (or none unlimited) for links of this audience */
  download_limit_not_allowed: 400,
  /** an `Authorization: Bearer` token that is unknown, malformed, revoked or expired */
  token_invalid: 401,
  /** an API token without the scope this route needs */
  token_scope_missing: 403,
  /** a route only the browser session may call (sign-in, managing tokens): API tokens are refused */
  token_not_accepted: 403,
  /** the user already holds as many live API tokens as allowed: revoke one first */
  token_limit_reached: 409,
  /** a file request that does not exist, or is not yours */
  request_not_found: 404,
  /** a file request whose link has expired or was closed by its requester: no more uploads */
  request_expired: 410,
  /** a file request that has taken as many uploads as it allows */
  request_used_up: 410,
  /** an upload that would go beyond a file request's total size or number of files */
  request_limit_exceeded: 413,
  /** a file whose type the file request does not accept */
  request_type_refused: 415,
  /** no such file left in this room (never left, removed, or expired) */
  room_file_not_found: 404,
  /** the room holds as many left files as it may (ROOM_FILES_MAX): remove one first */
  room_files_full: 409,
  /** a `direct` link whose cloud copy is still being uploaded: download it directly, or wait */
  cloud_copy_not_ready: 409,
  /** a `direct` link without a cloud copy (`cloudCopy: false`): only its sender's page serves it */
  cloud_copy_off: 409,
  /** no such direct-download claim on this link (unknown, another link's, or already settled) */
  claim_not_found: 404,
  /** the request line and headers are over the server's limit (Node's, 16 KB by default) */
  headers_too_large: 431,
  /** bytes that are not an HTTP request the server can read */
  bad_request: 400,
} as const satisfies Record<string, number>

export type ErrorCode = keyof typeof ERRORS

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown }
}
