import { sql, type Kysely } from 'kysely'
import type { Tables } from '../../platform/db/tables.js'

export class LoginFailuresRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  /** The latest lock end among the subjects, or null when none is locked. */
  async lockedUntil(subjects: string[]): Promise<Date | null> {
    const row = await this.db
      .selectFrom('login_failures')
      .select((eb) => eb.fn.max('locked_until').as('until'))
      .where('subject', 'in', subjects)
      .executeTakeFirst()
    return (row?.until as Date | null | undefined) ?? null
  }

  /**
   * Counts one more failure, atomically (concurrent failures all count); a count whose last failure is
   * older than `windowMs` and not locked starts again at 1. Returns the new count.
   */
  async addFailure(subject: string, now: Date, windowMs: number): Promise<number> {
    const staleBefore = new Date(now.getTime() - windowMs)
    const row = await this.db
      .insertInto('login_failures')
      .values({ subject, failures: 1, last_failed_at: now, locked_until: null })
      .onConflict((oc) =>
        oc.column('subject').doUpdateSet({
          failures: sql<number>`case when login_failures.last_failed_at < ${staleBefore} and coalesce(login_failures.locked_until, '-infinity') < ${now} then 1 else login_failures.failures + 1 end`,
          last_failed_at: now,
        }),
      )
      .returning('failures')
      .executeTakeFirstOrThrow()
    return row.failures
  }

  async lock(subject: string, until: Date): Promise<void> {
    await this.db.updateTable('login_failures').set({ locked_until: until }).where('subject', '=', subject).execute()
  }

  async clear(subject: string): Promise<void> {
    await this.db.deleteFrom('login_failures').where('subject', '=', subject).execute()
  }

  /** Drops counts nobody has added to for `windowMs` and whose lock is over (housekeeping). */
  async purgeStale(now: Date, windowMs: number): Promise<number> {
    const result = await this.db
      .deleteFrom('login_failures')
      .where('last_failed_at', '<', new Date(now.getTime() - windowMs))
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}
