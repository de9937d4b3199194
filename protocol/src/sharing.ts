import { z } from 'zod'
import { EncryptedMetadata, MAX_PASSWORD_LENGTH, Note, ShareOptions } from './shares'

/**
 * What recipients get beyond single downloads: text-only shares, previews, and the whole share as
 * one zip ("Download all").
 */

// ---------------------------------------------------------------- text-only shares

/** A pasted snippet, password or link: at most this many characters. */
export const MAX_TEXT_LENGTH = 65_536

/**
 * `POST /api/texts`: a text-only share, with the same options as files (expiry, download limit,
 * password). Plain: the text (and an optional note) as given. End-to-end encrypted (docs/encryption.md):
 * `metadata` is the share's envelope without the text (`{"v":1,"files":[],"note":"…"}`: the page opens
 * it to check the key before a view is used), `text` a second envelope with the text
 * (`{"v":1,"files":[],"text":"…"}`), revealed only by the counted route.
 */
const PlainTextRequest = ShareOptions.omit({ previews: true }).extend({
  encrypted: z.literal(false).optional(),
  text: z.string().min(1, 'text: must not be empty').max(MAX_TEXT_LENGTH, `text: at most ${MAX_TEXT_LENGTH} characters`),
  note: Note.optional(),
})
const EncryptedTextRequest = ShareOptions.omit({ previews: true })
  .extend({ encrypted: z.literal(true), metadata: EncryptedMetadata, text: EncryptedMetadata })
  .strict()
export const CreateTextRequest = z.discriminatedUnion('encrypted', [PlainTextRequest, EncryptedTextRequest])
export type CreateTextRequest = z.infer<typeof CreateTextRequest>

/** `POST /api/shares/:id/text` `{ password? }`: reveals the text; counts one download (a view). */
export const RevealTextRequest = z.object({ password: z.string().max(MAX_PASSWORD_LENGTH).optional() })

/** The text of a plain text share, or the sealed envelope that holds an encrypted one's text. */
export const RevealTextResponse = z
  .union([
    z.object({ text: z.string(), note: z.string().optional(), downloadsLeft: z.number().int().nullable() }),
    z.object({ sealedText: z.string().meta({ description: 'the envelope holding the text (docs/encryption.md)' }), downloadsLeft: z.number().int().nullable() }),
  ])
  .meta({ id: 'RevealTextResponse' })
export type RevealTextResponse = z.infer<typeof RevealTextResponse>

// ---------------------------------------------------------------- previews

/** What the share page can show without a download. HTML, SVG, XML and anything else: never. */
export const PreviewKind = z.enum(['image', 'video', 'audio', 'pdf', 'text'])
export type PreviewKind = z.infer<typeof PreviewKind>

/** The most of a text file a preview reads (the page says when the file is longer). */
export const PREVIEW_TEXT_BYTES = 256 * 1024
/**
 * On a share with a download limit a preview must not be a free download: only text files larger
 * than PREVIEW_LIMITED_MIN_SIZE are previewed, and only their first PREVIEW_LIMITED_BYTES (never
 * more than a quarter of the file). Media, PDF and small files are not previewed there.
 */
export const PREVIEW_LIMITED_BYTES = 256 * 1024
export const PREVIEW_LIMITED_MIN_SIZE = 4 * PREVIEW_LIMITED_BYTES
/** Images and PDFs larger than this are not previewed (video and audio stream, whatever their size). */
export const PREVIEW_MAX_DOCUMENT_BYTES = 64 * 1024 * 1024

/** Exactly these types are served to the page as what they are: inert media the browser decodes. */
const MEDIA: Record<string, PreviewKind> = {
  'image/png': 'image',
  'image/jpeg': 'image',
  'image/gif': 'image',
  'image/webp': 'image',
  'image/avif': 'image',
  'image/bmp': 'image',
  'video/mp4': 'video',
  'video/webm': 'video',
  'video/ogg': 'video',
  'audio/mpeg': 'audio',
  'audio/ogg': 'audio',
  'audio/wav': 'audio',
  'audio/webm': 'audio',
  'audio/mp4': 'audio',
  'audio/aac': 'audio',
  'audio/flac': 'audio',
  'application/pdf': 'pdf',
}
const BY_EXTENSION: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.bmp': 'image/bmp',
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.webm': 'video/webm',
  '.ogv': 'video/ogg',
  '.mp3': 'audio/mpeg',
  '.oga': 'audio/ogg',
  '.ogg': 'audio/ogg',
  '.wav': 'audio/wav',
  '.m4a': 'audio/mp4',
  '.aac': 'audio/aac',
  '.flac': 'audio/flac',
  '.pdf': 'application/pdf',
}
/** Shown as text (never rendered): source code, configuration, logs, notes. */
const TEXT_EXTENSIONS = new Set(
  (
    '.txt .text .md .markdown .log .csv .tsv .json .jsonl .yaml .yml .toml .ini .cfg .conf .env .properties .ts .tsx .js .jsx .mjs .cjs ' +
    '.py .rb .go .rs .java .kt .kts .scala .swift .c .h .cc .cpp .hpp .cs .php .pl .lua .r .sql .sh .bash .zsh .fish .ps1 .bat .dockerfile ' +
    '.makefile .gradle .tf .hcl .proto .graphql .css .scss .less .diff .patch .tex .rst .adoc .srt .vtt .gitignore .editorconfig'
  ).split(' '),
)
/** Never previewed, whatever their declared type says: they could render or run. */
const ACTIVE = /html|xml|svg|javascript|ecmascript|xsl/i
const ACTIVE_EXTENSIONS = new Set(['.html', '.htm', '.xhtml', '.shtml', '.svg', '.svgz', '.xml', '.xsl', '.xslt', '.mht', '.mhtml', '.hta'])

/**
 * What a file can be previewed as, from its declared type and its name, and the type its preview is
 * served with; null: never (the share page offers no preview, the server refuses one).
 */
export function previewKind(file: { name: string; content_type: string }): { kind: PreviewKind; type: string } | null {
  const dot = file.name.lastIndexOf('.')
  const ext = dot > 0 ? file.name.slice(dot).toLowerCase() : ''
  const declared = file.content_type.split(';')[0]!.trim().toLowerCase()
  if (ACTIVE_EXTENSIONS.has(ext) || ACTIVE.test(declared)) return null
  const media = MEDIA[declared] ?? (declared === '' || declared === 'application/octet-stream' ? MEDIA[BY_EXTENSION[ext] ?? ''] : undefined)
  if (media) return { kind: media, type: MEDIA[declared] ? declared : BY_EXTENSION[ext]! }
  const texty = declared.startsWith('text/') || declared === 'application/json' || declared === 'application/x-yaml' || declared === 'application/toml'
  if (texty || TEXT_EXTENSIONS.has(ext) || /^(readme|license|makefile|dockerfile|changelog)$/i.test(file.name)) return { kind: 'text', type: 'text/plain; charset=utf-8' }
  return null
}

/** `POST /api/shares/:id/files/:fileId/preview` `{ password? }` */
export const PreviewRequest = z.object({ password: z.string().max(MAX_PASSWORD_LENGTH).optional() })

export const PreviewResponse = z
  .object({
    kind: PreviewKind,
    /** the preview's bytes, streamed by the app (ranges allowed within `bytes`); never counted as a download */
    url: z.string(),
    expiresAt: z.string().meta({ format: 'date-time' }),
    /** how many bytes of the file the preview may read (from the start) */
    bytes: z.number().int().nonnegative(),
    /** the preview shows only the beginning of the file */
    partial: z.boolean(),
  })
  .meta({ id: 'PreviewResponse' })
export type PreviewResponse = z.infer<typeof PreviewResponse>

// ---------------------------------------------------------------- download all

/** `POST /api/shares/:id/zip` `{ password?, lease? }` → DownloadResponse (the zip's URL, under a lease on limited shares). */
export const ZipRequest = z.object({ password: z.string().max(MAX_PASSWORD_LENGTH).optional(), lease: z.string().max(100).optional() })

/** The query of a zip URL: a lease (limited shares) or a signature (unlimited shares). */
export const ZipContentQuery = z.union([
  z.object({ lease: z.string().max(100) }).strict(),
  z.object({ exp: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER), sig: z.string().max(128) }).strict(),
])

/** The query of a preview URL. */
export const PreviewContentQuery = z.object({
  exp: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  max: z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  sig: z.string().max(128),
})
