import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { z } from 'zod'

/**
 * The only reader of the environment: env -> zod -> frozen, typed Config.
 * A wrong value stops startup with every problem listed (ConfigError).
 */

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
}
const DURATION_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, min: 60, h: 3600, d: 86400, w: 604800 }

/** "10GiB", "500 MB", "1048576" -> bytes */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined
  return m && unit !== undefined ? Math.round(Number(m[1]) * unit) : null
}

/** "1h", "7d", "90" (seconds) -> seconds */
export function parseDuration(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  const unit = m ? DURATION_UNITS[m[2]!.toLowerCase()] : undefined
  return m && unit !== undefined ? Math.round(Number(m[1]) * unit) : null
}

const size = z.string().transform((v, ctx) => {
  const n = parseSize(v)
  if (n === null || n <= 0) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a size (e.g. 5GiB, 500MB, 1048576)` })
    return z.NEVER
  }
  return n
})
const duration = z.string().transform((v, ctx) => {
  const n = parseDuration(v)
  if (n === null || n <= 0) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration (e.g. 90, 15m, 1h, 7d)` })
    return z.NEVER
  }
  return n
})
/** "20/1h": 20 events per hour */
const rate = z.string().transform((v, ctx) => {
  const m = /^\s*(\d+)\s*\/\s*(\S+)\s*$/.exec(v)
  const window = m ? parseDuration(m[2]!) : null
  if (!m || window === null || window <= 0 || Number(m[1]) <= 0) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a rate (e.g. 20/1h, 5/15m)` })
    return z.NEVER
  }
  return { points: Number(m[1]), seconds: window }
})
/** "250ms", "10s", "5m" -> milliseconds (timeouts and back-off, which tests shorten below a second) */
const millis = z.string().transform((v, ctx) => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*ms\s*$/i.exec(v)
  const n = m ? Math.round(Number(m[1])) : (() => {
    const s = parseDuration(v)
    return s === null ? null : s * 1000
  })()
  if (n === null || n <= 0) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration (e.g. 500ms, 10s, 5m)` })
    return z.NEVER
  }
  return n
})
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v))
const list = z.string().transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
const url = z.string().url()

const EnvSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
    PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    HOST: z.string().min(1).default('0.0.0.0'),
    PUBLIC_URL: url.transform((u) => u.replace(/\/+$/, '')).optional(),
    DATA_DIR: z.string().min(1).default('./data'),
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres://').optional(),
    STORAGE: z.enum(['disk', 's3']).default('disk'),
    S3_ENDPOINT: url.optional(),
    S3_PUBLIC_ENDPOINT: url.optional(),
    S3_REGION: z.string().min(1).default('us-east-1'),
    S3_BUCKET: z.string().min(1).optional(),
    S3_ACCESS_KEY_ID: z.string().min(1).optional(),
    S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    S3_FORCE_PATH_STYLE: bool.prefault('true'),
    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis://').optional(),
    SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    GOOGLE_CLIENT_ID: z.string().min(1).optional(),
    GOOGLE_CLIENT_SECRET: z.string().min(1).optional(),
    GOOGLE_AUTH_URL: url.default('https://accounts.google.com/o/oauth2/v2/auth'),
    GOOGLE_TOKEN_URL: url.default('https://oauth2.googleapis.com/token'),
    GOOGLE_USERINFO_URL: url.default('https://openidconnect.googleapis.com/v1/userinfo'),
    ADMIN_EMAILS: list.prefault(''),
    ALLOW_ANONYMOUS_UPLOADS: bool.prefault('true'),
    E2E_DEFAULT: bool.prefault('false'),
    E2E_REQUIRED: bool.prefault('false'),
    PREVIEWS: bool.prefault('true'),
    ANON_PASSWORD_REQUIRED: bool.prefault('false'),
    MAX_FILE_SIZE: size.prefault('10GiB'),
    ANON_MAX_FILE_SIZE: size.prefault('2GiB'),
    DEFAULT_EXPIRY: duration.prefault('1d'),
    MAX_EXPIRY: duration.prefault('30d'),
    ANON_MAX_EXPIRY: duration.prefault('7d'),
    DAILY_QUOTA: size.prefault('100GiB'),
    ANON_DAILY_QUOTA: size.prefault('10GiB'),
    UPLOAD_RATE_LIMIT: rate.prefault('20/1h'),
    PART_SIGN_RATE_LIMIT: rate.prefault('600/1m'),
    DOWNLOAD_RATE_LIMIT: rate.prefault('300/1m'),
    PASSWORD_ATTEMPTS: rate.prefault('5/15m'),
    PRESIGN_TTL: z.coerce.number().int().min(1).max(3600).default(60),
    PART_SIZE: size.prefault('16MiB'),
    TRUST_PROXY: z.string().min(1).optional(),
    STUN_URLS: list.prefault(''),
    TURN_URLS: list.prefault(''),
    TURN_SECRET: z.string().min(1).optional(),
    TURN_TTL: duration.prefault('10m'),
    ROOM_CODE_TTL: duration.prefault('10m'),
    ROOM_CAPACITY: z.coerce.number().int().min(2).max(100).default(10),
    ROOM_CREATE_RATE_LIMIT: rate.prefault('30/1h'),
    ROOM_JOIN_RATE_LIMIT: rate.prefault('20/1m'),
    METRICS_TOKEN: z.string().min(1).optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
    JANITOR_INTERVAL: duration.prefault('5m'),
    STALE_UPLOAD_AGE: duration.prefault('1d'),
    DOWNLOAD_LEASE_TTL: duration.prefault('1m'),
    RECONCILE_INTERVAL: duration.prefault('1h'),
    ORPHAN_GRACE: duration.prefault('1d'),
    SHARE_PASSWORD_ATTEMPTS: rate.prefault('50/1h'),
    RATE_LIMIT_IPV6_PREFIX: z.coerce.number().int().min(32).max(128).default(64),
    ROOM_REPORT_RATE_LIMIT: rate.prefault('100/1h'),
    LIBRARY_DIR: list.optional(),
    LIBRARY_CROSS_MOUNTS: bool.prefault('false'),
    LIBRARY_RATE_LIMIT: rate.prefault('300/1m'),
    LIBRARY_MAX_FOLDER_FILES: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
    STALL_TIMEOUT: millis.prefault('5m'),
    DOWNLOAD_COUNT_FLUSH: millis.prefault('1s'),
    SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://').optional(),
    MAIL_FROM: z.string().min(3).default('ShareSync <sharesync@localhost>'),
    WEBHOOK_URL: url.optional(),
    WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    WEBHOOK_ALLOW_PRIVATE: bool.prefault('false'),
    WEBHOOK_TIMEOUT: millis.prefault('10s'),
    NOTIFY_RETRY_BASE: millis.prefault('30s'),
    NOTIFY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
    NOTIFY_POLL_INTERVAL: millis.prefault('5s'),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(10),
    DATABASE_TIMEOUT: millis.prefault('3s'),
    DATABASE_STATEMENT_TIMEOUT: millis.prefault('30s'),
    SHUTDOWN_TIMEOUT: millis.prefault('30s'),
    SOCKET_TRANSPORTS: z
      .string()
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
      .pipe(z.array(z.enum(['websocket', 'polling'])).min(1))
      .optional(),
    ROOM_RECONNECT_GRACE: duration.prefault('20s'),
    ROOM_HEARTBEAT: duration.prefault('5s'),
    NEARBY_CAPACITY: z.coerce.number().int().min(2).max(500).default(50),
    ROOM_FILES_TTL: duration.prefault('30m'),
    ROOM_FILES_MAX: z.coerce.number().int().min(1).max(1000).default(50),
    RELAY_ENABLED: bool.prefault('true'),
    RELAY_MAX_BYTES: size.prefault('10GiB'),
    RELAY_DAILY_QUOTA: size.prefault('50GiB'),
    HTTP_HEADERS_TIMEOUT: millis.prefault('20s'),
    HTTP_REQUEST_TIMEOUT: millis.prefault('60s'),
    HTTP_IDLE_TIMEOUT: millis.prefault('60s'),
    HTTP_KEEP_ALIVE_TIMEOUT: millis.prefault('65s'),
    MAX_CONNECTIONS_PER_ADDRESS: z.coerce.number().int().min(0).max(100_000).default(256),
    TURN_CREDENTIAL_RATE_LIMIT: rate.prefault('60/10m'),
    TEMP_FILE_MAX_IDLE: duration.prefault('1h'),
    STREAM_UPLOAD_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(16),
    STREAM_UPLOAD_QUEUE_WAIT: duration.prefault('30s'),
    RELAY_STALL_TIMEOUT: millis.prefault('30s'),
  })

/** Checks across variables, on the raw strings, so they are listed even when a field is invalid too. */
function crossChecks(env: Record<string, string>): string[] {
  const problems: string[] = []
  if (env.STORAGE === 's3') {
    for (const key of ['S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']) {
      if (!env[key]) problems.push(`${key}: required when STORAGE=s3`)
    }
  }
  if (Boolean(env.GOOGLE_CLIENT_ID) !== Boolean(env.GOOGLE_CLIENT_SECRET)) {
    problems.push('GOOGLE_CLIENT_SECRET: set both GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET, or neither')
  }
  if (env.TURN_URLS && !env.TURN_SECRET) problems.push('TURN_SECRET: required when TURN_URLS is set')
  if (env.WEBHOOK_URL && !env.WEBHOOK_SECRET) problems.push('WEBHOOK_SECRET: required when WEBHOOK_URL is set')
  const defaultExpiry = parseDuration(env.DEFAULT_EXPIRY ?? '1d')
  const maxExpiry = parseDuration(env.MAX_EXPIRY ?? '30d')
  if (defaultExpiry !== null && maxExpiry !== null && defaultExpiry > maxExpiry) problems.push('DEFAULT_EXPIRY: must not exceed MAX_EXPIRY')
  const partSize = parseSize(env.PART_SIZE ?? '16MiB')
  if (partSize !== null && partSize < 5 * 2 ** 20) problems.push('PART_SIZE: must be at least 5MiB (the S3 minimum)')
  return problems
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

/** "true"-ish express trust proxy value: hop count, "loopback", CIDR list. */
function trustProxy(value: string | undefined): boolean | number | string[] {
  if (value === undefined || value === 'false' || value === '0') return false
  if (/^\d+$/.test(value)) return Number(value)
  if (value === 'true') return true
  return value.split(',').map((s) => s.trim())
}

export function loadConfig(env: Record<string, string | undefined> = process.env) {
  // Empty strings mean "unset": .env files and compose files often carry `KEY=`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
  const parsed = EnvSchema.safeParse(cleaned)
  const problems = [...(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.') || 'env'}: ${i.message}`)), ...crossChecks(cleaned as Record<string, string>)]
  const oidc = oidcProviders(cleaned as Record<string, string>)
  problems.push(...oidc.problems)
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems)
  const e = parsed.data
  const dataDir = resolve(e.DATA_DIR)
  const config = {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL,
    dataDir,
    database: e.DATABASE_URL
      ? { kind: 'postgres' as const, url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE, connectTimeoutMs: e.DATABASE_TIMEOUT, statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT }
      : { kind: 'pglite' as const, dir: join(dataDir, 'db') },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT,
    // Several instances (REDIS_URL) behind a round-robin balancer: WebSocket only, since a
    // long-polling session is many requests that must all reach the instance that holds it.
    socketTransports: e.SOCKET_TRANSPORTS ?? (e.REDIS_URL ? ['websocket' as const] : ['websocket' as const, 'polling' as const]),
    storage:
      e.STORAGE === 's3'
        ? {
            kind: 's3' as const,
            endpoint: e.S3_ENDPOINT,
            publicEndpoint: e.S3_PUBLIC_ENDPOINT,
            region: e.S3_REGION,
            bucket: e.S3_BUCKET!,
            accessKeyId: e.S3_ACCESS_KEY_ID!,
            secretAccessKey: e.S3_SECRET_ACCESS_KEY!,
            forcePathStyle: e.S3_FORCE_PATH_STYLE,
          }
        : { kind: 'disk' as const, dir: join(dataDir, 'blobs') },
    redisUrl: e.REDIS_URL,
    sessionSecret: e.SESSION_SECRET ?? persistentSecret(dataDir),
    google: e.GOOGLE_CLIENT_ID
      ? {
          clientId: e.GOOGLE_CLIENT_ID,
          clientSecret: e.GOOGLE_CLIENT_SECRET!,
          authUrl: e.GOOGLE_AUTH_URL,
          tokenUrl: e.GOOGLE_TOKEN_URL,
          userInfoUrl: e.GOOGLE_USERINFO_URL,
        }
      : undefined,
    adminEmails: e.ADMIN_EMAILS.map((s) => s.toLowerCase()),
    oidc: oidc.providers,
    policy: {
      allowAnonymousUploads: e.ALLOW_ANONYMOUS_UPLOADS,
      encryptByDefault: e.E2E_DEFAULT,
      requireEncryption: e.E2E_REQUIRED,
      previews: e.PREVIEWS,
      anonymousPasswordRequired: e.ANON_PASSWORD_REQUIRED,
      defaultExpiry: e.DEFAULT_EXPIRY,
      user: { maxFileSize: e.MAX_FILE_SIZE, maxExpiry: e.MAX_EXPIRY, dailyQuota: e.DAILY_QUOTA },
      anonymous: { maxFileSize: Math.min(e.ANON_MAX_FILE_SIZE, e.MAX_FILE_SIZE), maxExpiry: Math.min(e.ANON_MAX_EXPIRY, e.MAX_EXPIRY), dailyQuota: Math.min(e.ANON_DAILY_QUOTA, e.DAILY_QUOTA) },
    },
    rateLimits: {
      upload: e.UPLOAD_RATE_LIMIT,
      signParts: e.PART_SIGN_RATE_LIMIT,
      download: e.DOWNLOAD_RATE_LIMIT,
      password: e.PASSWORD_ATTEMPTS,
      sharePassword: e.SHARE_PASSWORD_ATTEMPTS,
      /** IPv6 clients count by their network of this many bits (IPv4 by address) */
      ipv6Prefix: e.RATE_LIMIT_IPV6_PREFIX,
      library: e.LIBRARY_RATE_LIMIT,
    },
    presignTtl: e.PRESIGN_TTL,
    downloadLeaseTtl: e.DOWNLOAD_LEASE_TTL,
    partSize: e.PART_SIZE,
    trustProxy: trustProxy(e.TRUST_PROXY),
    rtc: { stunUrls: e.STUN_URLS, turnUrls: e.TURN_URLS, turnSecret: e.TURN_SECRET, turnTtl: e.TURN_TTL, credentialRate: e.TURN_CREDENTIAL_RATE_LIMIT },
    rooms: {
      codeTtl: e.ROOM_CODE_TTL,
      capacity: e.ROOM_CAPACITY,
      createRate: e.ROOM_CREATE_RATE_LIMIT,
      joinRate: e.ROOM_JOIN_RATE_LIMIT,
      reportRate: e.ROOM_REPORT_RATE_LIMIT,
      /** seconds a resumable member's seat is held after its connection drops */
      reconnectGrace: e.ROOM_RECONNECT_GRACE,
      /** seconds between an instance's heartbeats in Redis (dead after three missed) */
      heartbeat: e.ROOM_HEARTBEAT,
      nearbyCapacity: e.NEARBY_CAPACITY,
      /** seconds a file left in a room stays (the room is kept, even empty, while it holds files) */
      filesTtl: e.ROOM_FILES_TTL,
      /** files one room may hold at once */
      filesMax: e.ROOM_FILES_MAX,
    },
    relay: { enabled: e.RELAY_ENABLED, maxBytes: e.RELAY_MAX_BYTES, dailyQuota: e.RELAY_DAILY_QUOTA, stallMs: e.RELAY_STALL_TIMEOUT },
    metricsToken: e.METRICS_TOKEN,
    logLevel: e.LOG_LEVEL ?? 'info',
    /** LOG_LEVEL was set: an interactive start then shows what was asked for (serve.ts) */
    logLevelGiven: e.LOG_LEVEL !== undefined,
    janitor: { intervalSeconds: e.JANITOR_INTERVAL, staleUploadAge: e.STALE_UPLOAD_AGE, reconcileIntervalSeconds: e.RECONCILE_INTERVAL, orphanGraceSeconds: e.ORPHAN_GRACE },
    library: libraryRoots(e.LIBRARY_DIR ?? [], { crossMounts: e.LIBRARY_CROSS_MOUNTS, maxFolderFiles: e.LIBRARY_MAX_FOLDER_FILES }),
    stallTimeoutMs: e.STALL_TIMEOUT,
    /** how long the download events of unlimited shares wait in memory before they are written, in one batch */
    downloadCountFlushMs: e.DOWNLOAD_COUNT_FLUSH,
    http: {
      /** the request line and headers must arrive within this */
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT,
      /** a JSON body (buffered by the app) must arrive within this; streamed uploads only must not stall */
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT,
      /** a request body that sends nothing for this long, while the app is ready for more, is cut */
      idleTimeoutMs: e.HTTP_IDLE_TIMEOUT,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT,
      /** concurrent connections per client address (IPv6 by network), 0 = no cap; not counted for TRUST_PROXY addresses */
      maxConnectionsPerAddress: e.MAX_CONNECTIONS_PER_ADDRESS,
    },
    notifications: {
      smtpUrl: e.SMTP_URL,
      mailFrom: e.MAIL_FROM,
      webhook: e.WEBHOOK_URL ? { url: e.WEBHOOK_URL, secret: e.WEBHOOK_SECRET! } : undefined,
      allowPrivateTargets: e.WEBHOOK_ALLOW_PRIVATE,
      timeoutMs: e.WEBHOOK_TIMEOUT,
      retryBaseMs: e.NOTIFY_RETRY_BASE,
      maxAttempts: e.NOTIFY_MAX_ATTEMPTS,
      pollIntervalMs: e.NOTIFY_POLL_INTERVAL,
    },
    uploads: { tempMaxIdleSeconds: e.TEMP_FILE_MAX_IDLE, streamConcurrency: e.STREAM_UPLOAD_CONCURRENCY, streamQueueWaitSeconds: e.STREAM_UPLOAD_QUEUE_WAIT },
  }
  return deepFreeze(config)
}

export type Config = ReturnType<typeof loadConfig>

/**
 * LIBRARY_DIR: comma-separated directories, each optionally named (`Films=/mnt/nas/films`); the
 * name is what paths start with (`Films/2024/x.mkv`). Unnamed roots take their folder's name.
 * Null when no directory is given: the library is off.
 */
function libraryRoots(entries: string[], opts: { crossMounts: boolean; maxFolderFiles: number }) {
  if (entries.length === 0) return null
  const roots: { name: string; dir: string }[] = []
  const problems: string[] = []
  for (const entry of entries) {
    const eq = entry.indexOf('=')
    const dir = resolve(eq > 0 ? entry.slice(eq + 1).trim() : entry)
    const base = eq > 0 ? entry.slice(0, eq).trim() : dir.split('/').filter(Boolean).pop() ?? 'library'
    let name = base
    for (let n = 2; roots.some((r) => r.name === name); n++) name = `${base}-${n}`
    if (!/^[^/\\\u0000-\u001f.][^/\\\u0000-\u001f]{0,63}$/.test(name)) problems.push(`LIBRARY_DIR: "${name}" is not a usable name (no slashes, not hidden, at most 64 characters)`)
    roots.push({ name, dir })
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return { roots, ...opts }
}

/** Zero setup: without SESSION_SECRET, one random secret is made once and kept in DATA_DIR. */
function persistentSecret(dataDir: string): string {
  const file = join(dataDir, '.secret')
  try {
    return readFileSync(file, 'utf8').trim()
  } catch {
    mkdirSync(dataDir, { recursive: true })
    const secret = randomBytes(32).toString('base64url')
    writeFileSync(file, secret, { mode: 0o600, flag: 'wx' })
    return secret
  }
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}

/** One OpenID Connect provider (OIDC_PROVIDERS=<id>,… and OIDC_<ID>_* for each). */
export interface OidcProviderConfig {
  /** lower-case, in URLs: /api/auth/oidc/<id> */
  id: string
  issuer: string
  clientId: string
  clientSecret: string
  scopes: string
  /** shown on the sign-in button: "Sign in with <name>" unless `button` says otherwise */
  name: string
  button: string
  /** the ID-token (or userinfo) claim that grants the admin role, and the value it must hold */
  adminClaim: string
  adminValue: string | null
}

/**
 * OIDC_PROVIDERS=keycloak,authentik, then for each id (upper-cased): OIDC_KEYCLOAK_ISSUER (the
 * discovery base), OIDC_KEYCLOAK_CLIENT_ID, OIDC_KEYCLOAK_CLIENT_SECRET, and optionally
 * OIDC_KEYCLOAK_SCOPES (default "openid email profile"), OIDC_KEYCLOAK_NAME, OIDC_KEYCLOAK_BUTTON,
 * OIDC_KEYCLOAK_ADMIN_CLAIM (default "groups") and OIDC_KEYCLOAK_ADMIN_VALUE (no admin mapping without it).
 * A single provider may leave out the list and the id: OIDC_ISSUER, OIDC_CLIENT_ID, … (id "oidc").
 */
function oidcProviders(env: Record<string, string>): { providers: OidcProviderConfig[]; problems: string[] } {
  const problems: string[] = []
  const ids = (env.OIDC_PROVIDERS ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)
  const entries = [...new Set(ids)].map((id) => ({ id, prefix: `OIDC_${id.toUpperCase()}_` }))
  // One provider needs no list: OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET… (its id is "oidc").
  if (env.OIDC_ISSUER !== undefined || env.OIDC_CLIENT_ID !== undefined) {
    if (entries.some((e) => e.id === 'oidc')) problems.push('OIDC_ISSUER: use either OIDC_ISSUER… (one provider) or OIDC_PROVIDERS=oidc with OIDC_OIDC_…, not both')
    else entries.push({ id: 'oidc', prefix: 'OIDC_' })
  }
  const providers: OidcProviderConfig[] = []
  for (const { id, prefix } of entries) {
    if (!/^[a-z0-9]{1,32}$/.test(id)) {
      problems.push(`OIDC_PROVIDERS: "${id}" must be 1 to 32 letters or digits`)
      continue
    }
    if (id === 'google') problems.push('OIDC_PROVIDERS: "google" is built in (GOOGLE_CLIENT_ID); name a generic provider otherwise')
    const key = (k: string) => `${prefix}${k}`
    const get = (k: string) => env[key(k)]
    for (const required of ['ISSUER', 'CLIENT_ID', 'CLIENT_SECRET']) if (!get(required)) problems.push(`${key(required)}: required for OIDC provider "${id}"`)
    const issuer = get('ISSUER') ?? ''
    if (issuer && !/^https?:\/\//.test(issuer)) problems.push(`${key('ISSUER')}: must be an http(s) URL`)
    const scopes = get('SCOPES') ?? 'openid email profile'
    if (!scopes.split(/\s+/).includes('openid')) problems.push(`${key('SCOPES')}: must include "openid"`)
    const name = get('NAME') ?? (prefix === 'OIDC_' ? 'SSO' : id.charAt(0).toUpperCase() + id.slice(1))
    providers.push({
      id,
      issuer,
      clientId: get('CLIENT_ID') ?? '',
      clientSecret: get('CLIENT_SECRET') ?? '',
      scopes,
      name,
      button: get('BUTTON') ?? `Sign in with ${name}`,
      adminClaim: get('ADMIN_CLAIM') ?? 'groups',
      adminValue: get('ADMIN_VALUE') ?? null,
    })
  }
  return { providers, problems }
}
