/**
 * What must hold after any fault, read straight from the database and the store's own files (not
 * through the app): every `ready` share has all its objects, at their recorded sizes; every object
 * and every multipart upload in the store belongs to a file row of a share that is not deleted.
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import pg from 'pg'

export type StoreLayout = { kind: 's3'; dir: string; bucket: string } | { kind: 'disk'; dir: string }

interface FileState {
  share_id: string
  status: string
  storage_key: string
  upload_id: string | null
  size: number
  completed_at: Date | null
}

const S3RVER_OBJECT = '._S3rver_object'
const S3RVER_UPLOADS = '._S3rver_uploads'

function walk(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) walk(path, out)
    else out.push(path)
  }
  return out
}

/** Objects (key → size) and multipart upload ids as the store itself holds them. */
export function storeContents(layout: StoreLayout): { objects: Map<string, number>; uploads: Set<string>; parts: number } {
  const objects = new Map<string, number>()
  const uploads = new Set<string>()
  let parts = 0
  // A part is a file named by its number (s3rver: `1`, `1.md5`, …; the disk store: `1.part`).
  const partsIn = (dir: string, name: RegExp) => readdirSync(dir).filter((f) => name.test(f)).length
  if (layout.kind === 's3') {
    const root = join(layout.dir, layout.bucket)
    for (const path of walk(root)) {
      if (path.endsWith(S3RVER_OBJECT)) objects.set(relative(root, path).slice(0, -S3RVER_OBJECT.length), statSync(path).size)
    }
    const uploadsDir = join(root, S3RVER_UPLOADS)
    if (existsSync(uploadsDir)) {
      for (const id of readdirSync(uploadsDir)) {
        uploads.add(id)
        if (statSync(join(uploadsDir, id)).isDirectory()) parts += partsIn(join(uploadsDir, id), /^\d+$/)
      }
    }
  } else {
    const objectsDir = join(layout.dir, 'objects')
    for (const path of walk(objectsDir)) objects.set(relative(objectsDir, path), statSync(path).size)
    const multipartDir = join(layout.dir, 'multipart')
    if (existsSync(multipartDir)) {
      for (const id of readdirSync(multipartDir)) {
        uploads.add(id)
        if (statSync(join(multipartDir, id)).isDirectory()) parts += partsIn(join(multipartDir, id), /^\d+\.part$/)
      }
    }
  }
  return { objects, uploads, parts }
}

/** Temporary files the disk store holds (a dead request's half-written upload). */
export function diskTempFiles(dir: string): string[] {
  return walk(join(dir, 'tmp'))
}

/**
 * The problems found; an empty list means consistent. `orphans: false` leaves out storage that no
 * row references at all (what a request killed between storage and database leaves behind, until
 * the reconciler's grace period has passed); half-deleted and lost objects are always problems.
 */
export async function consistencyProblems(dbUrl: string, layout: StoreLayout, opts: { orphans?: boolean } = {}): Promise<string[]> {
  const orphans = opts.orphans ?? true
  const client = new pg.Client({ connectionString: dbUrl })
  await client.connect()
  let rows: FileState[]
  try {
    rows = (
      await client.query<FileState>(
        `SELECT f.share_id, s.status, f.storage_key, f.upload_id, f.size::float8 AS size, f.completed_at
           FROM files f JOIN shares s ON s.id = f.share_id`,
      )
    ).rows
  } finally {
    await client.end()
  }
  const { objects, uploads } = storeContents(layout)
  const problems: string[] = []
  const byKey = new Map(rows.map((r) => [r.storage_key, r]))
  const byUpload = new Map(rows.filter((r) => r.upload_id).map((r) => [r.upload_id!, r]))
  for (const r of rows) {
    if (r.status !== 'ready') continue
    const size = objects.get(r.storage_key)
    if (size === undefined) problems.push(`ready share ${r.share_id} has lost its object ${r.storage_key}`)
    else if (size !== r.size) problems.push(`ready share ${r.share_id}: object ${r.storage_key} holds ${size} bytes, the row says ${r.size}`)
  }
  for (const key of objects.keys()) {
    const r = byKey.get(key)
    if (!r) {
      if (orphans) problems.push(`object ${key} belongs to no file row`)
    }
    else if (r.status === 'deleted') problems.push(`object ${key} outlived its deleted share ${r.share_id}`)
  }
  for (const id of uploads) {
    const r = byUpload.get(id)
    if (!r) {
      if (orphans) problems.push(`multipart upload ${id} belongs to no file row`)
    }
    else if (r.status === 'deleted') problems.push(`multipart upload ${id} outlived its deleted share ${r.share_id}`)
  }
  return problems
}
