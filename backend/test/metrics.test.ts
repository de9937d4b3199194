/**
 * GET /metrics: Prometheus text that a scraper parses, counters that move with the traffic, the
 * route label as the Express pattern, and METRICS_TOKEN enforced. Real server, PGlite, disk store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Janitor } from '../src/jobs/janitor'
import { startTestServer, type TestServer } from './support/harness'
import { connectRooms, type RoomsClient } from './support/rooms-client'

const TOKEN = 'scrape-me-0123456789'

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4): every line is a HELP
 * or TYPE comment, a sample `name{label="value",…} number`, or empty; anything else fails the test.
 */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = []
  const types = new Map<string, string>()
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
  const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`
  const sampleLine = new RegExp(
    `^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?,?\\})? (-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?|[+-]?[Ii]nf|[Nn]a[Nn])(?: -?\\d+)?$`,
  )
  // Values are Go floats: Prometheus reads "NaN", "Nan" and "+Inf" alike (strconv.ParseFloat).
  const lines = text.split('\n')
  expect(lines.at(-1)).toBe('')
  for (const line of lines.slice(0, -1)) {
    // The format allows empty lines (prom-client puts one between metric families).
    if (line === '') continue
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line)
    if (type) {
      types.set(type[1]!, type[2]!)
      continue
    }
    if (/^# HELP \S+ .*$/.test(line)) continue
    const m = sampleLine.exec(line)
    if (!m) throw new Error(`not a Prometheus text line: ${JSON.stringify(line)}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!
    samples.push({ name: m[1]!, labels, value: Number(m[3]) })
  }
  return { samples, types }
}

let server: TestServer
const sockets: RoomsClient[] = []

async function scrape(): Promise<{ samples: Sample[]; types: Map<string, string> }> {
  const res = await server.fetch('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  return parsePrometheus(await res.text())
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const matching = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  return matching.reduce((n, s) => n + s.value, 0)
}

beforeAll(async () => {
  server = await startTestServer({ METRICS_TOKEN: TOKEN, UPLOAD_RATE_LIMIT: '3/1h' })
})
afterAll(async () => {
  for (const s of sockets) s.close()
  await server?.close()
})

describe('GET /metrics', () => {
  it('without the token (or with a wrong one) answers 401 and reveals nothing', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Bearer wrong' },
      { authorization: `Basic ${TOKEN}` },
      { authorization: `Bearer ${TOKEN}x` },
    ]) {
      const res = await server.fetch('/metrics', { headers })
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
      const body = await res.text()
      expect(body).not.toContain('sharesync_')
      expect(JSON.parse(body)).toMatchObject({ error: { code: 'unauthorized' } })
    }
  })

  it('parses as Prometheus text and declares every ShareSync metric with its type', async () => {
    const { types } = await scrape()
    expect(Object.fromEntries([...types].filter(([name]) => name.startsWith('sharesync_') || name.startsWith('http_')))).toMatchObject({
      http_request_duration_seconds: 'histogram',
      sharesync_uploads_total: 'counter',
      sharesync_upload_bytes_total: 'counter',
      sharesync_downloads_total: 'counter',
      sharesync_download_bytes_total: 'counter',
      sharesync_rate_limited_total: 'counter',
      sharesync_janitor_runs_total: 'counter',
      sharesync_sockets_connected: 'gauge',
      sharesync_rooms_open: 'gauge',
    })
  })

  it('counters move with uploads, downloads, rate-limit refusals and janitor runs; gauges follow sockets and rooms', async () => {
    const before = (await scrape()).samples

    const up = await server.fetch('/api/upload/a.bin', { method: 'PUT', body: new Uint8Array(1234) })
    expect(up.status).toBe(201)
    const { id } = (await up.json()) as { id: string }
    expect((await server.fetch('/api/upload/b.bin', { method: 'PUT', body: new Uint8Array(66) })).status).toBe(201)
    for (let i = 0; i < 2; i++) expect((await server.fetch(`/api/shares/${id}/download`, { redirect: 'manual' })).status).toBe(302)
    // The rate limit is 3 uploads an hour: the 4th and 5th are refused.
    expect((await server.fetch('/api/upload/c.bin', { method: 'PUT', body: new Uint8Array(1) })).status).toBe(201)
    expect((await server.fetch('/api/upload/d.bin', { method: 'PUT', body: new Uint8Array(1) })).status).toBe(429)
    expect((await server.fetch('/api/upload/e.bin', { method: 'PUT', body: new Uint8Array(1) })).status).toBe(429)
    await new Janitor(server.deps).runOnce()
    const room = await connectRooms(server.url)
    sockets.push(room)
    expect((await room.emitWithAck('room:create', {})).ok).toBe(true)

    const after = (await scrape()).samples
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels)
    expect(delta('sharesync_uploads_total')).toBe(3)
    expect(delta('sharesync_upload_bytes_total')).toBe(1234 + 66 + 1)
    expect(delta('sharesync_downloads_total')).toBe(2)
    expect(delta('sharesync_download_bytes_total')).toBe(2 * 1234)
    expect(delta('sharesync_rate_limited_total', { limit: 'upload' })).toBe(2)
    expect(delta('sharesync_janitor_runs_total')).toBe(1)
    expect(value(after, 'sharesync_sockets_connected')).toBe(1)
    expect(value(after, 'sharesync_rooms_open')).toBe(1)

    room.close()
    await expect.poll(async () => value((await scrape()).samples, 'sharesync_sockets_connected')).toBe(0)
    expect(value((await scrape()).samples, 'sharesync_rooms_open')).toBe(0)
  })

  it('the request histogram is labelled by route pattern, never by a share id', async () => {
    const up = await server.fetch('/api/upload/h.bin', { method: 'PUT', body: new Uint8Array(1) })
    const id = up.status === 201 ? ((await up.json()) as { id: string }).id : 'AAAAAAAAAAAAAAAAAAAAAA'
    await server.fetch(`/api/shares/${id}`)
    await server.fetch('/api/shares/BBBBBBBBBBBBBBBBBBBBBB')
    await server.fetch('/api/no-such-route')
    const { samples } = await scrape()
    const routes = new Set(samples.filter((s) => s.name === 'http_request_duration_seconds_count').map((s) => s.labels.route))
    expect(routes).toContain('/api/shares/:id')
    expect(routes).toContain('unmatched')
    for (const route of routes) expect(route).not.toMatch(/AAAA|BBBB|[A-Za-z0-9_-]{22}/)
    const metaCount = value(samples, 'http_request_duration_seconds_count', { route: '/api/shares/:id', method: 'GET' })
    expect(metaCount).toBeGreaterThanOrEqual(2)
    expect(value(samples, 'http_request_duration_seconds_count', { route: '/api/shares/:id', status: '404' })).toBeGreaterThanOrEqual(1)
  })
})

describe('GET /metrics without METRICS_TOKEN', () => {
  it('answers a scraper on this host (loopback); other clients are refused, see small-holes.test.ts', async () => {
    const open = await startTestServer()
    try {
      const res = await open.fetch('/metrics')
      expect(res.status).toBe(200)
      expect(parsePrometheus(await res.text()).types.get('sharesync_uploads_total')).toBe('counter')
    } finally {
      await open.close()
    }
  })
})
