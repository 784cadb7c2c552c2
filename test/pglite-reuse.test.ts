import { describe, expect, inject, it } from 'vitest'
import { leasePglite, type PgliteLease } from './helpers/pglite-reuse.js'
import { dumpBlob, onPostgres } from './helpers/test-database.js'

// The PGlite test databases of a worker's files are one instance handed on and reset in between:
// what one file leaves must never reach the next, and anything a reset cannot undo ends the instance.

const load = () => dumpBlob(inject('pgliteDump')!)

async function handBack(lease: PgliteLease): Promise<void> {
  await lease.pglite.close()
  await lease.returned
}

async function count(lease: PgliteLease, query: string): Promise<number> {
  return (await lease.pglite.query<{ n: number }>(`select (${query})::int as n`)).rows[0]!.n
}

describe.skipIf(onPostgres())('PGlite test databases handed from file to file', () => {
  it("comes back with empty tables, the migrations' rows, rewound sequences and a fresh session", async () => {
    const first = await leasePglite(load)
    const migrations = await count(first, 'select count(*) from kysely_migration')
    expect(migrations).toBeGreaterThan(0)
    await first.pglite.exec(`insert into gpts (id, name) values ('left-behind', 'Left behind')`)
    expect(await count(first, `select nextval('embeddings_id_seq')`)).toBe(1)
    await first.pglite.exec(`select nextval('embeddings_id_seq')`)
    // What the service builds at start, and session state a file may leave: a setting, a prepared
    // statement, a temporary table, and a transaction still open.
    await first.pglite.exec(`create index embeddings_hnsw_3 on embeddings using hnsw ((embedding::vector(3)) vector_cosine_ops) where dims = 3`)
    await first.pglite.exec(`set statement_timeout = 1234; prepare left_prepared as select 1; create temp table scratch (x int)`)
    await first.pglite.exec('begin')
    await handBack(first)

    const next = await leasePglite(load)
    try {
      expect(next.reused).toBe(true)
      expect(next.pglite.isInTransaction()).toBe(false)
      expect(await count(next, 'select count(*) from gpts')).toBe(0)
      expect(await count(next, 'select count(*) from kysely_migration')).toBe(migrations)
      expect(await count(next, `select nextval('embeddings_id_seq')`)).toBe(1)
      expect(await count(next, `select count(*) from pg_class where relname = 'embeddings_hnsw_3'`)).toBe(0)
      expect((await next.pglite.query<{ statement_timeout: string }>('show statement_timeout')).rows[0]!.statement_timeout).toBe('0')
      expect(await count(next, 'select count(*) from pg_prepared_statements')).toBe(0)
      expect(await count(next, `select count(*) from pg_class where relname = 'scratch'`)).toBe(0)
      // No activity counted, as in a loaded dump: the gpts row and the rows truncated away left none.
      await next.pglite.exec('select pg_stat_force_next_flush()')
      const counted = `select count(*) from pg_stat_all_tables s join pg_class c on c.oid = s.relid
        where not c.relisshared and s.n_tup_ins + s.n_tup_upd + s.n_tup_del + s.n_dead_tup + s.n_mod_since_analyze > 0`
      expect(await count(next, counted)).toBe(0)
    } finally {
      await handBack(next)
    }
  })

  it('loads the dump again after a file changed the schema', async () => {
    const changed = await leasePglite(load)
    await changed.pglite.exec('create table left_behind (x int)')
    await handBack(changed)
    const next = await leasePglite(load)
    try {
      expect(next.reused).toBe(false)
      expect(await count(next, `select count(*) from pg_class where relname = 'left_behind'`)).toBe(0)
    } finally {
      await handBack(next)
    }
  })

  it("loads the dump again after a file changed the migrations' rows", async () => {
    const changed = await leasePglite(load)
    const migrations = await count(changed, 'select count(*) from kysely_migration')
    await changed.pglite.exec(`delete from kysely_migration where name = (select max(name) from kysely_migration)`)
    await handBack(changed)
    const next = await leasePglite(load)
    try {
      expect(next.reused).toBe(false)
      expect(await count(next, 'select count(*) from kysely_migration')).toBe(migrations)
    } finally {
      await handBack(next)
    }
  })

  it('fails every call on a handed-back instance as on a closed PGlite, while the next file uses it', async () => {
    const first = await leasePglite(load)
    await handBack(first)
    const next = await leasePglite(load)
    try {
      expect(next.reused).toBe(true)
      expect(first.pglite.closed).toBe(true)
      await expect(first.pglite.query('select 1')).rejects.toThrow('PGlite is closed')
      await expect(first.pglite.exec(`insert into gpts (id, name) values ('late', 'Late')`)).rejects.toThrow('PGlite is closed')
      expect(next.pglite.closed).toBe(false)
      expect(await count(next, 'select count(*) from gpts')).toBe(0)
    } finally {
      await handBack(next)
    }
  })
})
