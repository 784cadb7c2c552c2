import { sql, type Kysely, type Selectable } from 'kysely'
import type { AccountsTable, Tables } from '../../platform/db/tables.js'

export type AccountRow = Selectable<AccountsTable>

/** What a key check needs: the key, whether it and its account are usable. */
export interface AccountKeyRow {
  id: string
  account_id: string
  secret_hash: Buffer
  usable: boolean
}

export class AccountsRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  /** Inserts the account with its first key; null when the email is taken (in any case). */
  async insertAccount(account: { id: string; email: string; password_hash: string }, key: { id: string; secret_hash: Buffer }): Promise<AccountRow | null> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('accounts')
        .values(account)
        .onConflict((oc) => oc.expression(sql`lower(email)`).doNothing())
        .returningAll()
        .executeTakeFirst()
      if (!row) return null
      await trx.insertInto('account_keys').values({ account_id: row.id, ...key }).execute()
      return row
    })
  }

  async findById(id: string): Promise<AccountRow | null> {
    return (await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst()) ?? null
  }

  async findByEmail(email: string): Promise<AccountRow | null> {
    return (await this.db.selectFrom('accounts').selectAll().where(sql`lower(email)`, '=', email.toLowerCase()).executeTakeFirst()) ?? null
  }

  /** Changes the email; null when another account has it. */
  async updateEmail(id: string, email: string): Promise<AccountRow | null> {
    try {
      return (await this.db.updateTable('accounts').set({ email, updated_at: sql`now()` }).where('id', '=', id).where('deleted_at', 'is', null).returningAll().executeTakeFirst()) ?? null
    } catch (error) {
      if ((error as { code?: string }).code === '23505') return null
      throw error
    }
  }

  async updatePasswordHash(id: string, passwordHash: string): Promise<AccountRow | null> {
    return (
      (await this.db
        .updateTable('accounts')
        .set({ password_hash: passwordHash, updated_at: sql`now()` })
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .returningAll()
        .executeTakeFirst()) ?? null
    )
  }

  /** Soft-deletes (deleted: true) or restores the account; null when it was not in the other state. */
  async setDeleted(id: string, deleted: boolean): Promise<AccountRow | null> {
    return (
      (await this.db
        .updateTable('accounts')
        .set({ deleted_at: deleted ? sql<Date>`now()` : null, updated_at: sql`now()` })
        .where('id', '=', id)
        .where('deleted_at', deleted ? 'is' : 'is not', null)
        .returningAll()
        .executeTakeFirst()) ?? null
    )
  }

  /** Deletes accounts soft-deleted more than `days` ago; their GPTs and every row of those go with them. */
  async purgeDeleted(days: number): Promise<number> {
    const result = await this.db
      .deleteFrom('accounts')
      .where('deleted_at', '<', sql<Date>`now() - make_interval(days => ${days})`)
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }

  /** The per-request lookup of an account key: one primary-key read with its account. */
  async findKey(keyId: string): Promise<AccountKeyRow | null> {
    const row = await this.db
      .selectFrom('account_keys as k')
      .innerJoin('accounts as a', 'a.id', 'k.account_id')
      .select(['k.id', 'k.account_id', 'k.secret_hash'])
      .select(sql<boolean>`k.revoked_at is null and a.deleted_at is null`.as('usable'))
      .where('k.id', '=', keyId)
      .executeTakeFirst()
    return row ?? null
  }

  /** Adds a key and revokes every other key of the account, in one transaction. */
  async replaceKey(accountId: string, key: { id: string; secret_hash: Buffer }): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('account_keys')
        .set({ revoked_at: sql`now()` })
        .where('account_id', '=', accountId)
        .where('revoked_at', 'is', null)
        .execute()
      await trx.insertInto('account_keys').values({ account_id: accountId, ...key }).execute()
    })
  }
}
