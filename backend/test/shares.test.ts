import { afterAll, beforeAll } from 'vitest'
import { downloadsSuite } from './downloads.suite'
import { sharesSuite } from './shares.suite'
import { createDatabase, startPostgres, startS3, type ServiceHandle } from './support/services'

let pg: ServiceHandle
let s3: Awaited<ReturnType<typeof startS3>>
beforeAll(async () => {
  ;[pg, s3] = await Promise.all([startPostgres(), startS3()])
})
afterAll(async () => {
  await Promise.all([pg?.stop(), s3?.stop()])
})

// Each store and each database once, in the two set-ups the README describes (the embedded default
// and the company's), as in the other suites: the store and the database never meet but through
// the services, and each store's own behaviour is its contract test's (storage.test.ts).
sharesSuite('PGlite + disk store', async () => ({}))
sharesSuite('PostgreSQL + S3 (s3rver)', async () => ({ DATABASE_URL: await createDatabase(pg.url, 'shares_s3'), ...s3.env }))

downloadsSuite('PGlite + disk store', async () => ({}))
downloadsSuite('PostgreSQL + S3 (s3rver)', async () => ({ DATABASE_URL: await createDatabase(pg.url, 'downloads_s3'), ...s3.env }))
