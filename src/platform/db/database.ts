import type { PGlite } from '@electric-sql/pglite'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { openPglite, type PgliteSource } from './pglite-open.js'
import { pgTypes } from './pg-types.js'
import { installFastRows } from './pg-rows.js'
import { preparingPool } from './prepared.js'
import type { Tables } from './tables.js'

export type DatabaseSource =
  | { kind: 'postgres'; url: string; poolSize: number }
  | ({ kind: 'pglite'; opening?: Promise<PGlite> } & PgliteSource)

export interface Database {
  readonly kind: 'postgres' | 'pglite'
  readonly db: Kysely<Tables>
  readonly pool: pg.Pool
  /** The embedded instance, when there is one (for dumps and clean shutdown). */
  readonly pglite: PGlite | null
  ping(): Promise<void>
  close(): Promise<void>
}

export async function openDatabase(source: DatabaseSource): Promise<Database> {
  installFastRows()
  let pglite: PGlite | null = null
  let pool: pg.Pool
  if (source.kind === 'postgres') {
    pool = new pg.Pool({ connectionString: source.url, max: source.poolSize, types: pgTypes })
  } else {
    // `opening`: an open already started (serve starts it before this module loads; see cli/serve.ts).
    const [opened, { createPgConfig }] = await Promise.all([source.opening ?? openPglite(source), import('@electric-sql/pglite/node-postgres')])
    pglite = opened
    // One connection: PGlite runs one query at a time, so the pool of one serializes access.
    pool = new pg.Pool({ ...createPgConfig(pglite), max: 1, types: pgTypes } as pg.PoolConfig)
  }
  // A dropped idle connection must not crash the process; the next query reconnects.
  pool.on('error', () => {})
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool: preparingPool(pool) }) })
  let closed = false
  return {
    kind: source.kind,
    db,
    pool,
    pglite,
    async ping() {
      await sql`select 1`.execute(db)
    },
    async close() {
      if (closed) return
      closed = true
      await db.destroy()
      await pglite?.close()
    },
  }
}
