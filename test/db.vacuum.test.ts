import { sql, type Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tables } from '../src/platform/db/tables.js'
import { tablesDue, vacuumWhereDue } from '../src/platform/db/vacuum.js'
import { VACUUM_EMBEDDED_JOB, vacuumEmbeddedJob } from '../src/platform/db/vacuum.job.js'
import type { JobContext } from '../src/platform/jobs/jobs.queue.js'
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js'
import { jobListOn } from './helpers/test-app.js'

let test: TestDatabase
let db: Kysely<Tables>

beforeAll(async () => {
  test = await createTestDatabase()
  db = test.database.db
})
afterAll(() => test.drop())

/**
 * A table of `rows` rows, then `churn` updates of each and the deletion of half of them, written on
 * one connection whose activity counters are flushed before it is given back. PostgreSQL's own
 * autovacuum is kept off the table: on PostgreSQL it could vacuum it before the test does.
 */
async function tableWithChurn(name: string, rows: number, churn: number): Promise<void> {
  await db.connection().execute(async (connection) => {
    await sql`create table ${sql.id(name)} (id int primary key, v text) with (autovacuum_enabled = false)`.execute(connection)
    await sql`insert into ${sql.id(name)} select g, md5(g::text) from generate_series(1, ${rows}::int) g`.execute(connection)
    for (let i = 0; i < churn; i++) await sql`update ${sql.id(name)} set v = v || 'x'`.execute(connection)
    if (churn > 0) await sql`delete from ${sql.id(name)} where id % 2 = 0`.execute(connection)
    await sql`select pg_stat_force_next_flush()`.execute(connection)
  })
}

const stats = async (name: string) => {
  const { rows } = await sql<{ dead: string; last_vacuum: Date | null; last_analyze: Date | null }>`
    select n_dead_tup as dead, last_vacuum, last_analyze from pg_stat_user_tables where relname = ${name}`.execute(db)
  return rows[0]!
}

const plannerStatistics = async (name: string) => {
  const { rows } = await sql<{ n: string }>`select count(*) as n from pg_stats where tablename = ${name}`.execute(db)
  return Number(rows[0]!.n)
}

const flushed = async () => void (await sql`select pg_stat_force_next_flush()`.execute(db))

describe('vacuumWhereDue', () => {
  beforeAll(async () => {
    await tableWithChurn('vacuum_churned', 4000, 2)
    await tableWithChurn('vacuum_quiet', 10, 0)
  })

  it('vacuums and analyzes a table whose dead rows and changes passed autovacuum’s thresholds, and leaves a quiet one alone', async () => {
    await expect.poll(async () => Number((await stats('vacuum_churned')).dead)).toBeGreaterThan(2000)
    const due = await tablesDue(db)
    expect(due.find((work) => work.table === 'vacuum_churned')).toMatchObject({ schema: 'public', vacuum: true, analyze: true })
    expect(due.find((work) => work.table === 'vacuum_quiet')).toBeUndefined()
    expect(await plannerStatistics('vacuum_churned')).toBe(0)

    const report = await vacuumWhereDue(db)
    expect(report.vacuumed).toContain('public.vacuum_churned')
    expect(report.analyzed).toContain('public.vacuum_churned')
    expect([...report.vacuumed, ...report.analyzed]).not.toContain('public.vacuum_quiet')
    expect(report.left).toEqual([])

    await flushed()
    const after = await stats('vacuum_churned')
    expect(Number(after.dead)).toBe(0)
    expect(after.last_vacuum).not.toBeNull()
    expect(after.last_analyze).not.toBeNull()
    expect(await plannerStatistics('vacuum_churned')).toBeGreaterThan(0)
    expect((await stats('vacuum_quiet')).last_vacuum).toBeNull()
  })

  it('finds the table no longer due once it was done', async () => {
    expect((await tablesDue(db)).map((work) => work.table)).not.toContain('vacuum_churned')
  })

  it('stops before the first table when its signal is aborted, and names what it left', async () => {
    await tableWithChurn('vacuum_stopped', 2000, 1)
    await expect.poll(async () => Number((await stats('vacuum_stopped')).dead)).toBeGreaterThan(1000)
    const report = await vacuumWhereDue(db, AbortSignal.abort())
    expect(report.vacuumed).toEqual([])
    expect(report.analyzed).toEqual([])
    expect(report.left).toContain('public.vacuum_stopped')
    expect((await stats('vacuum_stopped')).last_vacuum).toBeNull()
  })
})

describe('a table with a vector index', () => {
  it('is vacuumed without its indexes, whose HNSW vacuum would hold the connection for seconds', async (ctx) => {
    const pgvector = await sql`select 1 from pg_available_extensions where name = 'vector'`.execute(db)
    // This machine's PostgreSQL has no pgvector; PGlite ships it.
    if (pgvector.rows.length === 0) return ctx.skip()
    await db.connection().execute(async (connection) => {
      await sql`create extension if not exists vector`.execute(connection)
      await sql`create table vacuum_vectors (id int primary key, embedding vector(3)) with (autovacuum_enabled = false)`.execute(connection)
      await sql`insert into vacuum_vectors select g, array[random(), random(), random()]::vector(3) from generate_series(1, 600) g`.execute(connection)
      await sql`create index vacuum_vectors_hnsw on vacuum_vectors using hnsw (embedding vector_cosine_ops)`.execute(connection)
      await sql`delete from vacuum_vectors where id % 3 = 0`.execute(connection)
      await sql`select pg_stat_force_next_flush()`.execute(connection)
    })
    await expect.poll(async () => Number((await stats('vacuum_vectors')).dead)).toBeGreaterThan(150)
    const work = (await tablesDue(db)).find((due) => due.table === 'vacuum_vectors')
    expect(work).toMatchObject({ vacuum: true, skipIndexCleanup: true })
    expect((await vacuumWhereDue(db)).vacuumed).toContain('public.vacuum_vectors')
    expect((await stats('vacuum_vectors')).last_vacuum).not.toBeNull()
    // The index still answers, without the deleted rows.
    const { rows } = await sql<{ id: number }>`select id from vacuum_vectors order by embedding <=> '[1,0,0]' limit 20`.execute(db)
    expect(rows).toHaveLength(20)
    expect(rows.filter((row) => row.id % 3 === 0)).toEqual([])
  })
})

describe(`the ${VACUUM_EMBEDDED_JOB} job`, () => {
  it('is scheduled on embedded PGlite, which has no autovacuum, and not on PostgreSQL', () => {
    const names = (kind: 'pglite' | 'postgres') => jobListOn(kind).map((job) => job.name)
    expect(names('pglite')).toContain(VACUUM_EMBEDDED_JOB)
    expect(names('postgres')).not.toContain(VACUUM_EMBEDDED_JOB)
  })

  it('does the due work and logs what it did; a run with nothing due logs nothing', async () => {
    // Analyzing writes pg_statistic, whose changes then pass the threshold; ANALYZE skips that catalog,
    // so a job that counted it as due would analyze it, and log so, on every run.
    for (let i = 0; i < 4; i++) await sql`analyze`.execute(db)
    await tableWithChurn('vacuum_job', 2000, 1)
    await expect.poll(async () => Number((await stats('vacuum_job')).dead)).toBeGreaterThan(1000)
    const lines: { obj: object; msg?: string }[] = []
    const logger = { info: (obj: object, msg?: string) => void lines.push({ obj, msg }), warn() {}, error() {} }
    const job = vacuumEmbeddedJob({ db, logger })
    expect(job.schedule).toBe('* * * * *')
    const ctx = { id: 'j1', name: job.name, retryCount: 0, signal: new AbortController().signal, logger } satisfies JobContext
    const output = (await job.handler({}, ctx)) as { vacuumed: string[] }
    expect(output.vacuumed).toContain('public.vacuum_job')
    expect(lines).toHaveLength(1)
    expect(lines[0]!.obj).toMatchObject({ job: VACUUM_EMBEDDED_JOB, vacuumed: expect.arrayContaining(['public.vacuum_job']) })

    lines.length = 0
    await job.handler({}, ctx)
    expect(lines).toEqual([])
  })
})
