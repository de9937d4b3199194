/**
 * One small interface over PGlite and node-postgres: the same SQL (Postgres dialect) runs on both.
 * Nothing outside db/ writes SQL.
 */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres'
  /** Runs `work` in one transaction on one connection (BEGIN … COMMIT, ROLLBACK on throw). */
  tx<T>(work: (q: Queryable) => Promise<T>): Promise<T>
  ping(): Promise<void>
  close(): Promise<void>
}
