import { sql, type Insertable, type Kysely, type Selectable } from 'kysely'
import type { OAuthCodesTable, OAuthConsentsTable, OAuthGrantsTable, Tables } from '../../platform/db/tables.js'
import type { PageRequest } from '../../platform/http/pagination.js'
import { gptHidden } from '../gpts/gpts.repo.js'

export type ConsentRow = Selectable<OAuthConsentsTable>
export type CodeRow = Selectable<OAuthCodesTable>
export type GrantRow = Selectable<OAuthGrantsTable>

/** Whether an access token may be used, and its app's own request budget. */
export interface TokenState {
  live: boolean
  rateLimitPerMinute: number | null
}

/** A refresh token with its grant, as its exchange must check it. */
export interface RefreshTokenRow {
  used_at: Date | null
  grant: GrantRow
  /** The grant is not revoked or expired, and its GPT's owner (if any) is not deleted. */
  grant_live: boolean
}

const liveGrant = sql<boolean>`g.revoked_at is null and g.expires_at > now() and not ${gptHidden(sql.ref('g.gpt_id'))}`

/** Consent requests, codes, grants and their refresh tokens, and revoked access tokens. */
export class OAuthRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  async insertConsent(consent: Insertable<OAuthConsentsTable>): Promise<void> {
    await this.db.insertInto('oauth_consents').values(consent).execute()
  }

  async findConsent(id: string): Promise<ConsentRow | null> {
    return (await this.db.selectFrom('oauth_consents').selectAll().where('id', '=', id).where('expires_at', '>', sql<Date>`now()`).executeTakeFirst()) ?? null
  }

  /** Ends a consent request; false when another submission ended it first. */
  async takeConsent(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('oauth_consents').where('id', '=', id).executeTakeFirst()
    return result.numDeletedRows > 0n
  }

  async insertCode(code: Insertable<OAuthCodesTable>): Promise<void> {
    await this.db.insertInto('oauth_codes').values(code).execute()
  }

  async findCode(codeHash: Buffer): Promise<CodeRow | null> {
    return (await this.db.selectFrom('oauth_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst()) ?? null
  }

  /**
   * Exchanges a code for a new grant and its first refresh token, once: false when the code was
   * exchanged already (by a concurrent request too).
   */
  async exchangeCode(codeHash: Buffer, grant: Insertable<OAuthGrantsTable>, refreshHash: Buffer | null): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const taken = await trx
        .updateTable('oauth_codes')
        .set({ grant_id: grant.id })
        .where('code_hash', '=', codeHash)
        .where('grant_id', 'is', null)
        .executeTakeFirst()
      if (taken.numUpdatedRows === 0n) return false
      await trx.insertInto('oauth_grants').values(grant).execute()
      if (refreshHash) await trx.insertInto('oauth_refresh_tokens').values({ token_hash: refreshHash, grant_id: grant.id }).execute()
      return true
    })
  }

  /** A grant that needs no code (client credentials with a refresh token) and its first refresh token. */
  async insertGrant(grant: Insertable<OAuthGrantsTable>, refreshHash: Buffer): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('oauth_grants').values(grant).execute()
      await trx.insertInto('oauth_refresh_tokens').values({ token_hash: refreshHash, grant_id: grant.id }).execute()
    })
  }

  async findRefreshToken(tokenHash: Buffer): Promise<RefreshTokenRow | null> {
    const row = await this.db
      .selectFrom('oauth_refresh_tokens as t')
      .innerJoin('oauth_grants as g', 'g.id', 't.grant_id')
      .selectAll('g')
      .select(['t.used_at', liveGrant.as('grant_live')])
      .where('t.token_hash', '=', tokenHash)
      .executeTakeFirst()
    if (!row) return null
    const { used_at, grant_live, ...grant } = row
    return { used_at, grant_live, grant }
  }

  /** Marks a refresh token used and stores its successor; false when it was used already. */
  async rotateRefreshToken(tokenHash: Buffer, grantId: string, nextHash: Buffer): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const used = await trx
        .updateTable('oauth_refresh_tokens')
        .set({ used_at: sql`now()` })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .executeTakeFirst()
      if (used.numUpdatedRows === 0n) return false
      await trx.insertInto('oauth_refresh_tokens').values({ token_hash: nextHash, grant_id: grantId }).execute()
      await trx.updateTable('oauth_grants').set({ last_used_at: sql`now()` }).where('id', '=', grantId).execute()
      return true
    })
  }

  async revokeGrant(grantId: string): Promise<void> {
    await this.db.updateTable('oauth_grants').set({ revoked_at: sql`coalesce(revoked_at, now())` }).where('id', '=', grantId).execute()
  }

  /** Whether an access token of this grant (sid) may still be used. */
  async grantLive(grantId: string): Promise<boolean> {
    const row = await this.db.selectFrom('oauth_grants as g').select(liveGrant.as('live')).where('g.id', '=', grantId).executeTakeFirst()
    return row?.live ?? false
  }

  async listGrants(appId: string, page: PageRequest & { after: [Date, string] | null }): Promise<GrantRow[]> {
    const cmp = page.order === 'asc' ? '>' : '<'
    let query = this.db.selectFrom('oauth_grants').selectAll().where('app_id', '=', appId).where('revoked_at', 'is', null).where('expires_at', '>', sql<Date>`now()`)
    if (page.after) {
      const [createdAt, id] = page.after
      query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), cmp, eb.tuple(createdAt, id)))
    }
    return query.orderBy('created_at', page.order).orderBy('id', page.order).limit(page.limit + 1).execute()
  }

  async findGrant(appId: string, grantId: string): Promise<GrantRow | null> {
    return (await this.db.selectFrom('oauth_grants').selectAll().where('app_id', '=', appId).where('id', '=', grantId).executeTakeFirst()) ?? null
  }

  /**
   * Whether an access token may still be used: its app exists (its GPT not hidden), its own id was not
   * revoked, and its grant (when it has one) holds. One round trip.
   */
  async accessTokenLive(clientId: string, grantId: string | null, jti: string): Promise<TokenState> {
    const grantHolds = grantId === null ? sql<boolean>`true` : sql<boolean>`exists (select 1 from oauth_grants g where g.id = ${grantId} and ${liveGrant})`
    const { rows } = await sql<TokenState>`select
        not exists (select 1 from oauth_revoked_tokens r where r.jti = ${jti}) and ${grantHolds} as live,
        p.rate_limit_per_minute as "rateLimitPerMinute"
      from oauth_apps p where p.client_id = ${clientId} and not ${gptHidden(sql.ref('p.gpt_id'))}`.execute(this.db)
    return rows[0] ?? { live: false, rateLimitPerMinute: null }
  }

  async revokeAccessToken(jti: string, expiresAt: Date): Promise<void> {
    await this.db.insertInto('oauth_revoked_tokens').values({ jti, expires_at: expiresAt }).onConflict((oc) => oc.column('jti').doNothing()).execute()
  }

  async accessTokenRevoked(jti: string): Promise<boolean> {
    return (await this.db.selectFrom('oauth_revoked_tokens').select('jti').where('jti', '=', jti).executeTakeFirst()) !== undefined
  }

  /** Housekeeping: what can no longer be used by anyone. */
  async purgeSpent(): Promise<number> {
    let removed = 0
    for (const query of [
      this.db.deleteFrom('oauth_consents').where('expires_at', '<', sql<Date>`now()`),
      this.db.deleteFrom('oauth_codes').where('expires_at', '<', sql<Date>`now() - interval '1 day'`),
      this.db.deleteFrom('oauth_revoked_tokens').where('expires_at', '<', sql<Date>`now()`),
      this.db.deleteFrom('oauth_grants').where((eb) => eb.or([eb('revoked_at', '<', sql<Date>`now() - interval '1 day'`), eb('expires_at', '<', sql<Date>`now() - interval '1 day'`)])),
    ]) {
      removed += Number((await query.executeTakeFirst()).numDeletedRows)
    }
    return removed
  }
}
