/**
 * Background traffic during a fault: N clients, each looping over a mix of requests an operator's
 * users would make (share metadata, download issuance, small curl uploads) against the given
 * instances in turn, recording every answer by status. A request that gets no answer at all
 * (connection refused or reset) is recorded as status 0.
 */
export interface LoadShare {
  id: string
}

export interface LoadReport {
  requests: number
  /** status → count; 0 = no answer */
  statuses: Record<number, number>
  /** error codes of the 5xx answers */
  codes: Record<string, number>
}

export type LoadKind = 'metadata' | 'download' | 'upload'

export interface Load {
  /** Stops the clients after their current request and returns what they saw. */
  stop(): Promise<LoadReport>
  /** What was seen so far. */
  snapshot(): LoadReport
}

export function startLoad(targets: () => string[], shares: LoadShare[], opts: { clients: number; kinds?: LoadKind[]; timeoutMs?: number }): Load {
  const report: LoadReport = { requests: 0, statuses: {}, codes: {} }
  const kinds = opts.kinds ?? ['metadata', 'download', 'upload']
  let running = true
  let n = 0
  const record = async (res: Response | null) => {
    report.requests++
    const status = res?.status ?? 0
    report.statuses[status] = (report.statuses[status] ?? 0) + 1
    if (res && status >= 500) {
      const code = ((await res.json().catch(() => null)) as { error?: { code?: string } } | null)?.error?.code ?? 'no-json'
      report.codes[code] = (report.codes[code] ?? 0) + 1
    } else {
      await res?.arrayBuffer().catch(() => undefined)
    }
  }
  const one = async (base: string, kind: LoadKind, share: LoadShare) => {
    const signal = AbortSignal.timeout(opts.timeoutMs ?? 30_000)
    switch (kind) {
      case 'metadata':
        return fetch(`${base}/api/shares/${share.id}`, { signal })
      case 'download':
        return fetch(`${base}/api/shares/${share.id}/download`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', signal })
      case 'upload':
        return fetch(`${base}/api/upload/load.txt`, { method: 'PUT', body: `load ${n}`, signal })
    }
  }
  const client = async (c: number) => {
    for (let i = c; running; i++) {
      const all = targets()
      const base = all[(n++ + c) % all.length]!
      const kind = kinds[i % kinds.length]!
      const share = shares[i % shares.length]!
      await record(await one(base, kind, share).catch(() => null))
    }
  }
  const clients = Array.from({ length: opts.clients }, (_, c) => client(c))
  const copy = (): LoadReport => ({ requests: report.requests, statuses: { ...report.statuses }, codes: { ...report.codes } })
  return {
    snapshot: copy,
    async stop() {
      running = false
      await Promise.all(clients)
      return copy()
    },
  }
}

/** Statuses other than the allowed ones, with their counts (for a readable failure). */
export function unexpected(report: LoadReport, allowed: number[]): Record<number, number> {
  return Object.fromEntries(Object.entries(report.statuses).filter(([s]) => !allowed.includes(Number(s))))
}
