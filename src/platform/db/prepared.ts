import { createHash } from 'node:crypto'
import { createQueryId, sql, type Compilable, type CompiledQuery, type Kysely, type QueryResult, type PostgresCursor, type PostgresPool, type PostgresPoolClient, type PostgresQueryResult } from 'kysely'
import pg from 'pg'
import type { Tables } from './tables.js'

/**
 * Most statements marked: a statement lives in every connection's backend until the connection ends,
 * so a query whose text varies without bound (an `in` list of any length) must not fill them.
 */
export const MAX_PREPARED_STATEMENTS = 256

const STAR = /(?:^|[\s,(])(?:"?\w+"?\.)?\*\s*(?:,|from\b|$)/i

/** SQL text → statement name, for the texts marked by `prepared`. */
const names = new Map<string, string>()

/**
 * Marks a query to run as a named prepared statement: PostgreSQL parses and plans it once per
 * connection instead of on every call, which on a primary-key read cost more than the read itself
 * (three times the database CPU of the same lookup prepared, measured with pgbench). Only for
 * queries whose best plan does not depend on the parameters' values (lookups and writes by key,
 * fixed-shape batches): after five runs PostgreSQL may keep one generic plan for all values.
 */
export function prepared<R>(query: CompiledQuery<R>): CompiledQuery<R> {
  if (!names.has(query.sql) && names.size < MAX_PREPARED_STATEMENTS) {
    // A prepared `*` fails ("cached plan must not change result type") on every run after a column is
    // added, as a rolling upgrade's migration does under the replicas still running the old release.
    if (STAR.test(query.sql)) throw new TypeError(`a prepared statement names its columns, not *: ${query.sql.slice(0, 120)}`)
    // Named by the text, so that the same text marked from two places is one statement.
    names.set(query.sql, `as_${createHash('sha256').update(query.sql).digest('hex').slice(0, 24)}`)
  }
  return query
}

/** The statement name a text runs under, if it was marked. */
export function preparedName(sql: string): string | undefined {
  return names.get(sql)
}

/**
 * The pool as Kysely sees it: a query whose text was marked by `prepared` goes to pg as a named
 * statement (pg parses it once per connection and then only binds and executes); any other query
 * goes as before, an unnamed statement.
 */
export function preparingPool(pool: pg.Pool): PostgresPool {
  const clients = new WeakMap<pg.PoolClient, PostgresPoolClient>()
  return {
    async connect() {
      const client = await pool.connect()
      let wrapped = clients.get(client)
      if (wrapped === undefined) {
        wrapped = wrapClient(client)
        clients.set(client, wrapped)
      }
      return wrapped
    },
    end: () => pool.end(),
  }
}

function wrapClient(client: pg.PoolClient): PostgresPoolClient {
  function query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>
  function query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>
  function query<R>(sqlOrCursor: string | PostgresCursor<R>, parameters?: ReadonlyArray<unknown>) {
    // A cursor (Kysely's streaming) is a pg Submittable, which pg runs as it is.
    if (typeof sqlOrCursor !== 'string') return client.query(sqlOrCursor as unknown as pg.Submittable) as unknown as PostgresCursor<R>
    const values = parameters as unknown[]
    const name = names.get(sqlOrCursor)
    const result = name === undefined ? client.query(sqlOrCursor, values) : namedQuery(client, name, sqlOrCursor, values)
    return result as unknown as Promise<PostgresQueryResult<R>>
  }
  return { query, release: () => client.release() }
}

/**
 * A named statement as a Query that pg runs as it is: given a config object ({name, text, values}),
 * pg copies it property by property on every call, a slow path of V8 that took 3% of the service's
 * CPU on a read of one document.
 */
function namedQuery(client: pg.PoolClient, name: string, text: string, values: unknown[]): Promise<pg.QueryResultBase> {
  return new Promise((resolve, reject) => {
    const query = new pg.Query(text, values, (error, result) => {
      if (error === undefined || error === null) return resolve(result)
      // As pg's own promise does: a stack that leads back to the caller rather than to the socket.
      Error.captureStackTrace(error)
      reject(error)
    })
    ;(query as pg.Query & { name: string }).name = name
    client.query(query)
  })
}

/**
 * A query compiled once (with placeholder parameters) and marked `prepared`, run with the call's
 * parameters: for the hottest lookups, where building the query with Kysely cost more CPU than
 * PostgreSQL took to answer it.
 */
export function compiledOnce<R>(query: CompiledQuery<R>) {
  const marked = prepared(query)
  return async (db: Kysely<Tables>, parameters: readonly unknown[]): Promise<R[]> =>
    (await db.executeQuery<R>({ ...marked, parameters, queryId: createQueryId() })).rows
}

/**
 * A page's row count for a prepared statement, written into its text rather than sent as a parameter:
 * PostgreSQL costs a generic plan with an unknown LIMIT as if it read a tenth of the table, and may so
 * plan the statement again on every run (the document list was: 176 against 84 µs of PostgreSQL CPU
 * per page of 50). Each page size is a statement of its own, which the page maximum bounds.
 */
export function limitInText(rows: number) {
  if (!Number.isSafeInteger(rows) || rows < 0) throw new TypeError(`a row count, not ${rows}`)
  return sql.lit(rows)
}

/** Runs a query built with Kysely (on `db`, or the transaction it was built on) as a marked prepared statement. */
export function executePrepared<O>(db: Kysely<Tables>, query: Compilable<O>): Promise<QueryResult<O>> {
  return db.executeQuery(prepared(query.compile()))
}

/** The first row of a query run as a marked prepared statement, or null. */
export async function firstPrepared<O>(db: Kysely<Tables>, query: Compilable<O>): Promise<O | null> {
  return (await executePrepared(db, query)).rows[0] ?? null
}
