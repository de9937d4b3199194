import { afterAll, beforeAll } from 'vitest'
import { sharingSuite } from './sharing.suite'
import { createDatabase, startPostgres, startS3, type ServiceHandle } from './support/services'

let pg: ServiceHandle
let s3: Awaited<ReturnType<typeof startS3>>
beforeAll(async () => {
  ;[pg, s3] = await Promise.all([startPostgres(), startS3()])
})
afterAll(async () => {
  await Promise.all([pg?.stop(), s3?.stop()])
})

// Both stores and both databases, in two pairings: the zip streams from disk and from S3 alike.
sharingSuite('PGlite + disk store', async () => ({}))
sharingSuite('PostgreSQL + S3 (s3rver)', async () => ({ DATABASE_URL: await createDatabase(pg.url, 'sharing_s3'), ...s3.env }))
