import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { Tables } from './tables.js'

/**
 * Embedded PGlite is a standalone backend: it has no autovacuum launcher and never flushes its own
 * activity counters, so no table is ever vacuumed or analyzed by itself. Dead rows of updates and
 * deletes (chat messages saved as they stream, the job queue's rows) stay on disk, the planner keeps
 * its default guesses, and transaction ids are never frozen — a standalone backend does not stop at
 * the wraparound limit, it wraps. This does autovacuum's work by autovacuum's own rules, read from the
 * server's settings, one table per statement so that requests get the connection in between.
 */

/** The server's autovacuum settings (pg_settings), as autovacuum reads them. */
export interface VacuumSettings {
  vacuumThreshold: number
  vacuumScaleFactor: number
  /** PostgreSQL 18's cap on the dead-row threshold of a large table (autovacuum_vacuum_max_threshold); null before 18 or when -1. */
  vacuumMaxThreshold: number | null
  insertThreshold: number
  insertScaleFactor: number
  analyzeThreshold: number
  analyzeScaleFactor: number
  freezeMaxAge: number
}

/** One table's activity since it was last vacuumed and analyzed (pg_stat_all_tables, pg_class). */
export interface TableActivity {
  schema: string
  table: string
  /** The planner's row count; -1 for a table never vacuumed or analyzed. */
  reltuples: number
  deadTuples: number
  insertedSinceVacuum: number
  modifiedSinceAnalyze: number
  /** Transactions since the table's oldest unfrozen row id (age(relfrozenxid)). */
  xidAge: number
  /** It has a pgvector index (hnsw, ivfflat), whose vacuum repairs the graph around every deleted vector. */
  vectorIndex: boolean
}

export interface TableWork {
  schema: string
  table: string
  vacuum: boolean
  analyze: boolean
  /**
   * Vacuum the rows but not the indexes (a table with a vector index): pgvector's HNSW vacuum took
   * 18 s for 5,000 vectors of 384 dimensions with a tenth deleted, against 10 ms without it, and on
   * PGlite it holds the only connection. Searches skip the index entries of removed rows.
   */
  skipIndexCleanup: boolean
  /** Which of autovacuum's rules made the work due. */
  reasons: ('dead rows' | 'inserts' | 'changes' | 'wraparound')[]
}

const isStatisticCatalog = (activity: TableActivity) => activity.schema === 'pg_catalog' && activity.table === 'pg_statistic'

/** What autovacuum would do to the table now (PostgreSQL's "The Autovacuum Daemon"); null: nothing. */
export function workDue(activity: TableActivity, settings: VacuumSettings): TableWork | null {
  const rows = Math.max(activity.reltuples, 0)
  const reasons: TableWork['reasons'] = []
  const deadRows = settings.vacuumThreshold + settings.vacuumScaleFactor * rows
  if (activity.deadTuples > Math.min(deadRows, settings.vacuumMaxThreshold ?? deadRows)) reasons.push('dead rows')
  // A threshold of -1 turns the insert rule off, as it does for autovacuum.
  if (settings.insertThreshold >= 0 && activity.insertedSinceVacuum > settings.insertThreshold + settings.insertScaleFactor * rows) reasons.push('inserts')
  if (activity.xidAge > settings.freezeMaxAge) reasons.push('wraparound')
  const vacuum = reasons.length > 0
  // ANALYZE skips pg_statistic without a word (its own statistics would be rows of itself), so its
  // counter of changes never resets: autovacuum leaves it out, or it would be due on every run.
  const analyze = !isStatisticCatalog(activity) && activity.modifiedSinceAnalyze > settings.analyzeThreshold + settings.analyzeScaleFactor * rows
  if (analyze) reasons.push('changes')
  return vacuum || analyze ? { schema: activity.schema, table: activity.table, vacuum, analyze, skipIndexCleanup: vacuum && activity.vectorIndex, reasons } : null
}

export interface VacuumReport {
  vacuumed: string[]
  analyzed: string[]
  /** Due, not reached: the run was stopped (its signal) first. */
  left: string[]
}

const SETTING_NAMES = {
  vacuumThreshold: 'autovacuum_vacuum_threshold',
  vacuumScaleFactor: 'autovacuum_vacuum_scale_factor',
  insertThreshold: 'autovacuum_vacuum_insert_threshold',
  insertScaleFactor: 'autovacuum_vacuum_insert_scale_factor',
  analyzeThreshold: 'autovacuum_analyze_threshold',
  analyzeScaleFactor: 'autovacuum_analyze_scale_factor',
  freezeMaxAge: 'autovacuum_freeze_max_age',
} as const
const MAX_THRESHOLD = 'autovacuum_vacuum_max_threshold'

async function readSettings(db: Kysely<Tables>): Promise<VacuumSettings> {
  const names = [...Object.values(SETTING_NAMES), MAX_THRESHOLD]
  const { rows } = await sql<{ name: string; setting: string }>`select name, setting from pg_settings where name = any(${names}::text[])`.execute(db)
  const value = (name: string) => {
    const row = rows.find((candidate) => candidate.name === name)
    return row ? Number(row.setting) : null
  }
  const read = Object.entries(SETTING_NAMES).map(([key, name]) => {
    const setting = value(name)
    if (setting === null) throw new Error(`the database has no setting ${name}`)
    return [key, setting]
  })
  const max = value(MAX_THRESHOLD)
  return { ...Object.fromEntries(read), vacuumMaxThreshold: max === null || max < 0 ? null : max } as VacuumSettings
}

async function readActivity(db: Kysely<Tables>): Promise<TableActivity[]> {
  // The counters of this backend's own writes wait in its memory until a flush; the statement after
  // this one finds them flushed.
  await sql`select pg_stat_force_next_flush()`.execute(db)
  // Catalogs too: their row ids age like any table's. TOAST tables are vacuumed with their table.
  const { rows } = await sql<{ schema: string; table: string; reltuples: number; dead: string; inserted: string; modified: string; xid_age: number; vector_index: boolean }>`
    select s.schemaname as schema, s.relname as table, c.reltuples, s.n_dead_tup as dead, s.n_ins_since_vacuum as inserted,
      s.n_mod_since_analyze as modified, age(c.relfrozenxid) as xid_age,
      exists (select 1 from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_am am on am.oid = ic.relam
        where i.indrelid = c.oid and am.amname in ('hnsw', 'ivfflat')) as vector_index
    from pg_stat_all_tables s join pg_class c on c.oid = s.relid
    where c.relkind in ('r', 'm') and s.schemaname not in ('pg_toast', 'information_schema')
    order by s.schemaname, s.relname`.execute(db)
  return rows.map((row) => ({
    schema: row.schema,
    table: row.table,
    reltuples: Number(row.reltuples),
    deadTuples: Number(row.dead),
    insertedSinceVacuum: Number(row.inserted),
    modifiedSinceAnalyze: Number(row.modified),
    xidAge: Number(row.xid_age),
    vectorIndex: row.vector_index,
  }))
}

/** The tables autovacuum would vacuum or analyze now. */
export async function tablesDue(db: Kysely<Tables>): Promise<TableWork[]> {
  const settings = await readSettings(db)
  const activity = await readActivity(db)
  return activity.map((table) => workDue(table, settings)).filter((work): work is TableWork => work !== null)
}

/** The one statement that does a table's work. */
export function maintenanceStatement(work: TableWork): RawBuilder<unknown> {
  const table = sql.id(work.schema, work.table)
  if (!work.vacuum) return sql`analyze ${table}`
  const options = [...(work.analyze ? ['analyze'] : []), ...(work.skipIndexCleanup ? ['index_cleanup off'] : [])]
  return sql`vacuum ${sql.raw(options.length > 0 ? `(${options.join(', ')}) ` : '')}${table}`
}

/** Vacuums and analyzes, one statement per table, the tables that are due; stops between tables when `signal` aborts. */
export async function vacuumWhereDue(db: Kysely<Tables>, signal?: AbortSignal): Promise<VacuumReport> {
  const report: VacuumReport = { vacuumed: [], analyzed: [], left: [] }
  for (const work of await tablesDue(db)) {
    const name = `${work.schema}.${work.table}`
    if (signal?.aborted) {
      report.left.push(name)
      continue
    }
    await maintenanceStatement(work).execute(db)
    if (work.vacuum) report.vacuumed.push(name)
    if (work.analyze) report.analyzed.push(name)
  }
  return report
}
