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

sharesSuite('PGlite + disk store', async () => ({}))
sharesSuite('PGlite + S3 (s3rver)', async () => s3.env)
sharesSuite('PostgreSQL + disk store', async () => ({ DATABASE_URL: await createDatabase(pg.url, 'shares_disk') }))
sharesSuite('PostgreSQL + S3 (s3rver)', async () => ({ DATABASE_URL: await createDatabase(pg.url, 'shares_s3'), ...s3.env }))

downloadsSuite('PGlite + disk store', async () => ({}))
downloadsSuite('PGlite + S3 (s3rver)', async () => s3.env)
downloadsSuite('PostgreSQL + disk store', async () => ({ DATABASE_URL: await createDatabase(pg.url, 'downloads_disk') }))
downloadsSuite('PostgreSQL + S3 (s3rver)', async () => ({ DATABASE_URL: await createDatabase(pg.url, 'downloads_s3'), ...s3.env }))
