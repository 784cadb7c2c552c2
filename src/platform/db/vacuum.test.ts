import { compileOnly } from '../../../test/helpers/compile-only.js'
import { describe, expect, it } from 'vitest'
import type { Tables } from './tables.js'
import { maintenanceStatement, workDue, type TableActivity, type TableWork, type VacuumSettings } from './vacuum.js'

// PostgreSQL's defaults (15 to 18).
const DEFAULTS: VacuumSettings = {
  vacuumThreshold: 50,
  vacuumScaleFactor: 0.2,
  vacuumMaxThreshold: null,
  insertThreshold: 1000,
  insertScaleFactor: 0.2,
  analyzeThreshold: 50,
  analyzeScaleFactor: 0.1,
  freezeMaxAge: 200_000_000,
}

const quiet: TableActivity = { schema: 'public', table: 't', reltuples: 10_000, deadTuples: 0, insertedSinceVacuum: 0, modifiedSinceAnalyze: 0, xidAge: 1000, vectorIndex: false }

describe('workDue: autovacuum’s rules', () => {
  it.each<[string, Partial<TableActivity>, { vacuum: boolean; analyze: boolean; skipIndexCleanup?: boolean; reasons: string[] } | null]>([
    ['a quiet table', {}, null],
    // 50 + 0.2 × 10,000 = 2,050 dead rows
    ['dead rows at the threshold', { deadTuples: 2050 }, null],
    ['dead rows past it', { deadTuples: 2051 }, { vacuum: true, analyze: false, reasons: ['dead rows'] }],
    // 1,000 + 0.2 × 10,000 = 3,000 inserts
    ['inserts at the threshold', { insertedSinceVacuum: 3000 }, null],
    ['inserts past it', { insertedSinceVacuum: 3001 }, { vacuum: true, analyze: false, reasons: ['inserts'] }],
    // 50 + 0.1 × 10,000 = 1,050 changed rows
    ['changes at the threshold', { modifiedSinceAnalyze: 1050 }, null],
    ['changes past it', { modifiedSinceAnalyze: 1051 }, { vacuum: false, analyze: true, reasons: ['changes'] }],
    ['row ids older than autovacuum_freeze_max_age', { xidAge: 200_000_001 }, { vacuum: true, analyze: false, reasons: ['wraparound'] }],
    ['a table never vacuumed counts as empty', { reltuples: -1, deadTuples: 51, modifiedSinceAnalyze: 51 }, { vacuum: true, analyze: true, reasons: ['dead rows', 'changes'] }],
    ['every rule at once', { deadTuples: 1e6, insertedSinceVacuum: 1e6, modifiedSinceAnalyze: 1e6, xidAge: 3e8 }, { vacuum: true, analyze: true, reasons: ['dead rows', 'inserts', 'wraparound', 'changes'] }],
    ['a table with a vector index: its rows, not its indexes', { vectorIndex: true, deadTuples: 2051 }, { vacuum: true, analyze: false, skipIndexCleanup: true, reasons: ['dead rows'] }],
    ['a table with a vector index, analyzed only', { vectorIndex: true, modifiedSinceAnalyze: 1051 }, { vacuum: false, analyze: true, reasons: ['changes'] }],
  ])('%s', (_name, activity, expected) => {
    const work = workDue({ ...quiet, ...activity }, DEFAULTS)
    expect(work).toEqual(expected === null ? null : { schema: 'public', table: 't', skipIndexCleanup: false, ...expected })
  })

  it('leaves the insert rule off when its threshold is -1, as autovacuum does', () => {
    expect(workDue({ ...quiet, insertedSinceVacuum: 1e9 }, { ...DEFAULTS, insertThreshold: -1 })).toBeNull()
  })

  it('caps the dead-row threshold at autovacuum_vacuum_max_threshold (PostgreSQL 18)', () => {
    const large = { ...quiet, reltuples: 1e9, deadTuples: 100_000_001 }
    expect(workDue(large, DEFAULTS)).toBeNull()
    expect(workDue(large, { ...DEFAULTS, vacuumMaxThreshold: 100_000_000 })?.reasons).toEqual(['dead rows'])
    expect(workDue({ ...quiet, deadTuples: 2051 }, { ...DEFAULTS, vacuumMaxThreshold: 100_000_000 })?.vacuum).toBe(true)
  })

  it('never analyzes pg_statistic, which ANALYZE skips, as autovacuum does; it still vacuums it', () => {
    const statistic = { ...quiet, schema: 'pg_catalog', table: 'pg_statistic', modifiedSinceAnalyze: 1e6 }
    expect(workDue(statistic, DEFAULTS)).toBeNull()
    expect(workDue({ ...statistic, deadTuples: 2051 }, DEFAULTS)).toMatchObject({ vacuum: true, analyze: false, reasons: ['dead rows'] })
    expect(workDue({ ...statistic, table: 'pg_class' }, DEFAULTS)?.analyze).toBe(true)
  })

  it('reads the thresholds it is given', () => {
    expect(workDue({ ...quiet, deadTuples: 11 }, { ...DEFAULTS, vacuumThreshold: 10, vacuumScaleFactor: 0 })?.vacuum).toBe(true)
  })
})

describe('maintenanceStatement', () => {
  // Compiles for PostgreSQL without a database.
  const compiler = compileOnly<Tables>()
  const work = (over: Partial<TableWork>): TableWork => ({ schema: 'public', table: 'audit_log', vacuum: true, analyze: false, skipIndexCleanup: false, reasons: [], ...over })

  it.each<[string, Partial<TableWork>, string]>([
    ['vacuum', {}, 'vacuum "public"."audit_log"'],
    ['vacuum and analyze', { analyze: true }, 'vacuum (analyze) "public"."audit_log"'],
    ['analyze alone', { vacuum: false, analyze: true }, 'analyze "public"."audit_log"'],
    ['a table with a vector index', { skipIndexCleanup: true }, 'vacuum (index_cleanup off) "public"."audit_log"'],
    ['the same, analyzed too', { skipIndexCleanup: true, analyze: true }, 'vacuum (analyze, index_cleanup off) "public"."audit_log"'],
    ['names quoted', { schema: 'pg_catalog', table: 'odd"name' }, 'vacuum "pg_catalog"."odd""name"'],
  ])('%s', (_name, over, statement) => {
    expect(maintenanceStatement(work(over)).compile(compiler).sql).toBe(statement)
  })
})
