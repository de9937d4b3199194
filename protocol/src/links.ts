import { z } from 'zod'
import type { Peer } from './rooms'
import { FileId, LeaseToken, MAX_FILES_PER_SHARE, MAX_PASSWORD_LENGTH, ShareId } from './shares'

/**
 * "One link, two paths": a cloud link created with `direct: true` is also served straight from the
 * sender's page while it is open (the P2P engine: WebRTC, or the server relay), and from its cloud
 * copy otherwise. The live part is a **link room** on the `/rooms` namespace: one per share, no code,
 * no secret, never joinable by `room:join`. Its members are **hosts** (the owner's pages, `link:host`)
 * and **recipients** (`link:join`, the share's password rules). A recipient sees only hosts; a host
 * sees everyone; `signal` and `relay:*` go only between a recipient and a host.
 *
 * One download limit for both paths: a direct download is claimed (`link:claim`) on the same lease a
 * cloud download of a limited share takes, and counted when a host reports it delivered.
 */

/** The path a download took: the cloud copy, a direct WebRTC connection, or the server relay. */
export const LinkPath = z.enum(['cloud', 'direct', 'relay'])
export type LinkPath = z.infer<typeof LinkPath>

/** A direct download's claim (128 random bits, base64url). */
export const ClaimId = z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'not a claim id')

/** The owner's page hosts the link: the owner token of the create answer, or the signed-in owner's session. */
export const HostLink = z.object({ shareId: ShareId, ownerToken: z.string().min(1).max(256).optional() }).strict()
export type HostLink = z.input<typeof HostLink>

/** A recipient waits for, and then asks, a host: the share must be live and `direct`; same password rules as the share page. */
export const JoinLink = z.object({ shareId: ShareId, password: z.string().min(1).max(MAX_PASSWORD_LENGTH).optional() }).strict()
export type JoinLink = z.input<typeof JoinLink>

/**
 * A recipient asks for a direct download of `files` (all of the share's files when absent). On a
 * limited share this claims one of the remaining downloads, on the lease a cloud download uses;
 * `lease` reuses one this recipient holds already.
 */
export const ClaimLink = z
  .object({
    files: z.array(FileId).min(1).max(MAX_FILES_PER_SHARE).optional(),
    lease: LeaseToken.optional(),
  })
  .strict()
export type ClaimLink = z.input<typeof ClaimLink>

/** A host: the recipient of `claimId` has every asked-for file whole (counted once). */
export const LinkDelivered = z
  .object({
    claimId: ClaimId,
    bytes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    path: z.enum(['direct', 'relay']),
  })
  .strict()
export type LinkDelivered = z.input<typeof LinkDelivered>

/** A host or the recipient: the direct transfer of `claimId` failed (the lease stays for the cloud copy). */
export const LinkFailed = z.object({ claimId: ClaimId, reason: z.string().max(200) }).strict()
export type LinkFailed = z.input<typeof LinkFailed>

export const LeaveLink = z.object({}).strict()

export interface LinkInfo {
  /** the link room's id: `roomId` of its `peer:*` events */
  id: string
  shareId: string
}

/** `link:host`'s answer: the recipients seated now. */
export interface LinkHosted {
  link: LinkInfo
  self: Peer
  peers: Peer[]
}

/** `link:join`'s answer: the hosts online now (none: wait for `peer:joined`). */
export interface LinkJoined {
  link: LinkInfo
  self: Peer
  hosts: Peer[]
}

export interface LinkClaimed {
  claim: { id: string }
  /** limited shares: the lease holding this recipient's download (also good for the cloud copy) */
  lease?: { token: string; expiresAt: string }
}

export const RECEIPT_STATUSES = ['active', 'done', 'failed'] as const

/**
 * A delivery receipt, for the sender's page: who is downloading, over which path, how far. The
 * server sends those of cloud downloads (`link:receipt`); the page builds the direct ones itself.
 */
export const LinkReceipt = z
  .object({
    id: z.string(),
    /** the recipient's device name (from its User-Agent), "someone" when unknown */
    who: z.string(),
    path: LinkPath,
    bytes: z.number().int().nonnegative(),
    totalBytes: z.number().int().nonnegative(),
    status: z.enum(RECEIPT_STATUSES),
  })
  .meta({ id: 'LinkReceipt' })
export type LinkReceipt = z.infer<typeof LinkReceipt>

/** The link room of a share (the same on every instance). */
export const linkRoomId = (shareId: string) => `link-${shareId}`

/** Client → server link events (their schemas are in ROOMS_CLIENT_EVENTS, rooms.ts). */
export const LINK_CLIENT_EVENTS = {
  'link:host': HostLink,
  'link:join': JoinLink,
  'link:claim': ClaimLink,
  'link:delivered': LinkDelivered,
  'link:failed': LinkFailed,
  'link:leave': LeaveLink,
} as const
