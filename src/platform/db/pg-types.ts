import pg from 'pg'

const INT8_OID = 20

/**
 * The one place where column types are parsed, shared by PostgreSQL and PGlite (both speak through `pg`).
 * PGlite's adapter breaks on per-query `types`, so this is set on the pool.
 * int8 (counts, sums) becomes a number: every bigint this service stores stays far below 2^53.
 */
export const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value)
    return pg.types.getTypeParser(oid, format as 'text')
  },
} as pg.CustomTypesConfig
