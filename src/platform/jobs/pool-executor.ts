import type pg from 'pg'
import type PgBoss from 'pg-boss'

/**
 * pg-boss's `db` option, so that pg-boss shares the service's pool instead of opening its own: on
 * PGlite the pool of one connection is the only way in. pg-boss sends its DDL and maintenance as one
 * multi-statement string without parameters, which `pg` sends over the simple protocol; both
 * PostgreSQL and PGlite's adapter run it as one transaction.
 */
export class PoolExecutor implements PgBoss.Db {
  private readonly inFlight = new Set<Promise<unknown>>()
  private closed = false

  constructor(private readonly pool: pg.Pool) {}

  executeSql(text: string, values?: unknown[]): Promise<pg.QueryResult> {
    // pg-boss fires some statements without awaiting them (its cron worker's completions). Once
    // stopped, answering "no result" like pg-boss's own closed Db keeps them from hitting a closed
    // pool and surfacing as unhandled rejections.
    if (this.closed) return Promise.resolve(undefined as unknown as pg.QueryResult)
    const query = this.run(text, values)
    this.inFlight.add(query)
    const forget = () => this.inFlight.delete(query)
    query.then(forget, forget)
    return query
  }

  /**
   * Not `pool.query`: on an error it ends the connection, and PGlite's one connection cannot be opened
   * again (every later query of the process failed with "Connection terminated unexpectedly"). A
   * statement's error leaves the connection usable; one that broke it is dropped by the pool anyway.
   */
  private async run(text: string, values: unknown[] | undefined): Promise<pg.QueryResult> {
    const client = await this.pool.connect()
    try {
      return await client.query(text, values)
    } finally {
      client.release()
    }
  }

  /** Waits for statements already sent, so that the caller may close the database right after. */
  async close(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
    this.closed = true
  }
}

const DEADLOCK = '40P01'

/**
 * Runs `declare` again when PostgreSQL ends it as a deadlock victim. pg-boss creates a queue's
 * partition without a lock, so replicas that start together on a new queue can deadlock; the other
 * process's statement goes on, and the retry then finds the queue made (its creation is idempotent).
 */
export async function retryDeadlocks(declare: () => Promise<void>, attempts = 5): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await declare()
    } catch (error) {
      if ((error as { code?: unknown }).code !== DEADLOCK || attempt >= attempts) throw error
    }
  }
}
