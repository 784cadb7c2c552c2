import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database } from '../../platform/db/database.js'
import { migrateToLatest } from '../../platform/db/migrate.js'
import type { Tables } from '../../platform/db/tables.js'
import { ERR } from '../../platform/errors.js'

export interface TableDigest {
  rows: number
  md5: string
}

export interface TransferResult {
  tables: Record<string, TableDigest>
  rows: number
  verified: true
}

export type TransferProgress = (table: string, copied: number, total: number) => void

const BATCH = 2000
// The migrator's own tables: the target has them from its own migrations.
const SKIPPED = new Set(['kysely_migration', 'kysely_migration_lock'])

/** The service's tables (schema public), parents before the tables that reference them. */
async function tablesInOrder(db: Kysely<Tables>): Promise<string[]> {
  const { rows: tables } = await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = 'public' order by 1`.execute(db)
  const { rows: edges } = await sql<{ child: string; parent: string }>`
    select c.conrelid::regclass::text as child, c.confrelid::regclass::text as parent
    from pg_constraint c join pg_namespace n on n.oid = c.connamespace
    where c.contype = 'f' and n.nspname = 'public'`.execute(db)
  const names = tables.map((table) => table.name).filter((name) => !SKIPPED.has(name))
  const ordered: string[] = []
  const visit = (name: string, path: Set<string>) => {
    if (ordered.includes(name) || path.has(name)) return
    path.add(name)
    for (const edge of edges) if (edge.child === name && edge.parent !== name) visit(edge.parent, path)
    ordered.push(name)
  }
  for (const name of names) visit(name, new Set())
  return ordered
}

/** Columns a row is written with: not the generated ones, which the target computes itself. */
async function writableColumns(db: Kysely<Tables>, table: string): Promise<{ name: string; type: string }[]> {
  const { rows } = await sql<{ name: string; type: string }>`
    select column_name as name, udt_name as type from information_schema.columns
    where table_schema = 'public' and table_name = ${table} and is_generated = 'NEVER'
    order by ordinal_position`.execute(db)
  return rows
}

/**
 * Row count and an MD5 of every row as text, in a stable order, with timestamps in UTC so that two
 * servers of other time zones agree, and vectors as arrays (a database without pgvector stores them so).
 */
export async function tableDigests(database: Database, tables?: string[]): Promise<Record<string, TableDigest>> {
  const names = tables ?? (await tablesInOrder(database.db))
  return database.db.transaction().execute(async (trx) => {
    await sql`set local timezone = 'UTC'`.execute(trx)
    const digests: Record<string, TableDigest> = {}
    for (const name of [...names].sort()) {
      const { rows: columns } = await sql<{ name: string; type: string }>`
        select column_name as name, udt_name as type from information_schema.columns
        where table_schema = 'public' and table_name = ${name} order by ordinal_position`.execute(trx)
      const values = sql.join(columns.map((column) => (column.type === 'vector' ? sql`${sql.id(column.name)}::real[]` : sql.id(column.name))))
      const { rows } = await sql<TableDigest>`
        select count(*)::int as rows, md5(coalesce(string_agg(r, E'\n' order by r), '')) as md5
        from (select row(${values})::text as r from ${sql.table(name)}) t`.execute(trx)
      digests[name] = rows[0]!
    }
    return digests
  })
}

async function copyTable(source: Database, target: Transaction<Tables>, table: string, progress?: TransferProgress): Promise<void> {
  const columns = await writableColumns(source.db, table)
  const list = sql.join(columns.map((column) => sql.id(column.name)))
  // A vector read as an array of reals: a target without pgvector stores it so, and one with it reads the same JSON.
  const read = sql.join(columns.map((column) => (column.type === 'vector' ? sql`${sql.id(column.name)}::real[] as ${sql.id(column.name)}` : sql.id(column.name))))
  const { rows: counted } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(source.db)
  const total = counted[0]!.n
  let copied = 0
  // In physical order, so that a row referring to another of its table (mail replies) mostly
  // follows it; each batch is one statement, whose foreign keys are checked at its end.
  for (let offset = 0; offset < total; offset += BATCH) {
    const { rows } = await sql<{ batch: unknown[] }>`
      select coalesce(json_agg(t), '[]'::json) as batch from (
        select ${read} from ${sql.table(table)} order by ctid limit ${BATCH} offset ${offset}) t`.execute(source.db)
    const batch = rows[0]!.batch
    await sql`
      insert into ${sql.table(table)} (${list}) overriding system value
      select ${list} from json_populate_recordset(null::${sql.table(table)}, ${JSON.stringify(batch)}::json)`.execute(target)
    copied += batch.length
    progress?.(table, copied, total)
  }
  // Identity columns go on from the largest copied value.
  const { rows: identities } = await sql<{ column: string }>`
    select column_name as column from information_schema.columns
    where table_schema = 'public' and table_name = ${table} and is_identity = 'YES'`.execute(target)
  for (const { column } of identities) {
    await sql`select setval(pg_get_serial_sequence(${table}, ${column}), coalesce(max(${sql.id(column)}), 0) + 1, false) from ${sql.table(table)}`.execute(target)
  }
}

/**
 * Copies every row of the service's tables from one database to another (embedded PGlite to
 * PostgreSQL or back), in one transaction on the target, then compares each table's row count and
 * content checksum. Both are first migrated to this version's schema; the target must hold no rows.
 * Queued background jobs are not copied (their schedules are made again at the first start).
 */
export async function transfer(source: Database, target: Database, progress?: TransferProgress): Promise<TransferResult> {
  await migrateToLatest(source.db)
  await migrateToLatest(target.db)
  const tables = await tablesInOrder(source.db)
  const existing = await tableDigests(target, tables)
  const filled = Object.entries(existing).filter(([, digest]) => digest.rows > 0).map(([name]) => name)
  if (filled.length > 0) throw ERR.conflict(`The target already holds data (${filled.join(', ')}); transfer only into an empty database.`)
  await target.db.transaction().execute(async (trx) => {
    for (const table of tables) await copyTable(source, trx, table, progress)
  })
  const [before, after] = [await tableDigests(source, tables), await tableDigests(target, tables)]
  const differing = tables.filter((table) => before[table]!.rows !== after[table]!.rows || before[table]!.md5 !== after[table]!.md5)
  if (differing.length > 0) throw new Error(`copied, but these tables differ from the source: ${differing.join(', ')}`)
  return { tables: after, rows: Object.values(after).reduce((sum, digest) => sum + digest.rows, 0), verified: true }
}
