import { mkdirSync } from 'node:fs'
import type { PGlite } from '@electric-sql/pglite'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { pgTypes } from './pg-types.js'
import { preparingPool } from './prepared.js'
import type { Tables } from './tables.js'

export type DatabaseSource =
  | { kind: 'postgres'; url: string; poolSize: number }
  /** `dataDir` on disk, or in memory (optionally starting from a dumped data dir, as tests do). */
  | { kind: 'pglite'; dataDir?: string; loadDataDir?: Blob; sharedBuffersMb?: number }

/**
 * PGlite's shared buffers live in its WebAssembly memory, and Postgres touches every page of them at
 * start: at Postgres's default of 128 MB they were the larger part of an idle server's RSS. Reads past
 * them come from the operating system's file cache, so a small pool costs little on a small database.
 */
export const PGLITE_SHARED_BUFFERS_MB = 16

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
  let pglite: PGlite | null = null
  let pool: pg.Pool
  if (source.kind === 'postgres') {
    pool = new pg.Pool({ connectionString: source.url, max: source.poolSize, types: pgTypes })
  } else {
    if (source.dataDir) mkdirSync(source.dataDir, { recursive: true })
    // Loaded only here: a service on PostgreSQL never loads PGlite and its WebAssembly.
    const [{ PGlite }, { vector }, { createPgConfig }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('@electric-sql/pglite-pgvector'),
      import('@electric-sql/pglite/node-postgres'),
    ])
    pglite = await PGlite.create({
      ...(source.dataDir ? { dataDir: source.dataDir } : {}),
      ...(source.loadDataDir ? { loadDataDir: source.loadDataDir } : {}),
      extensions: { vector },
      startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${source.sharedBuffersMb ?? PGLITE_SHARED_BUFFERS_MB}MB`],
    })
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
