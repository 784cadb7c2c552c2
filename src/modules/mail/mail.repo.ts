import { sql, type Kysely, type Selectable } from 'kysely'
import type { JsonObject, JsonValue, MailMetadataTable, MailRecipientsTable, MailTable, Tables } from '../../platform/db/tables.js'
import type { SortOrder } from '../../platform/http/pagination.js'
import { executePrepared, limitInText } from '../../platform/db/prepared.js'
import { partyCondition } from './mail.party.js'

export type MailRow = Selectable<MailTable>
export type RecipientRow = Selectable<MailRecipientsTable>
export type MetadataRow = Selectable<MailMetadataTable>
class AlreadyRecipient extends Error {}
const UNIQUE_VIOLATION = '23505'

/** `delivered_at`: when the mail reached this inbox (its time, or later for a recipient added later); inboxes are ordered by it. */
export type InboxRow = MailRow & { direction: 'received' | 'sent'; read_at: Date | null; delivered_at: Date }

export interface InboxFilters {
  unread: boolean
  includeSent: boolean
  conversationId: string | null
  minImportance: number | null
}

const MAIL_COLUMNS = ['m.gpt_id', 'm.id', 'm.sender_id', 'm.conversation_id', 'm.parent_id', 'm.type', 'm.importance', 'm.content', 'm.metadata', 'm.created_at', 'm.edited_at'] as const

const RECIPIENT_COLUMNS = ['gpt_id', 'mail_id', 'agent_id', 'created_at', 'read_at'] as const
const METADATA_COLUMNS = ['gpt_id', 'mail_id', 'key', 'id', 'value', 'set_by', 'created_at', 'updated_at'] as const
const anyUuid = (ids: string[]) => sql<string>`any(${ids}::uuid[])`

export class MailRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  /** The mail and one recipient row per addressee, in one transaction. */
  async insertMail(mail: Omit<MailRow, 'created_at' | 'edited_at' | 'metadata'> & { metadata: JsonObject }, recipients: string[]): Promise<MailRow> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('mail')
        .values({ ...mail, metadata: JSON.stringify(mail.metadata) })
        .returningAll()
        .executeTakeFirstOrThrow()
      if (recipients.length === 0) return row
      await trx
        .insertInto('mail_recipients')
        .values(recipients.map((agentId) => ({ gpt_id: mail.gpt_id, mail_id: mail.id, agent_id: agentId, created_at: row.created_at })))
        .execute()
      return row
    })
  }

  /**
   * Adds recipients to a sent mail; their inbox rows carry the time they were added (so that an
   * inbox, ordered by that time, shows the mail when it arrived). Null when one is a recipient already.
   */
  async addRecipients(gptId: string, mailId: string, agentIds: string[]): Promise<Date | null> {
    return this.db.transaction().execute(async (trx) => {
      const { now } = await sql<{ now: Date }>`select now() as now`.execute(trx).then((result) => result.rows[0]!)
      const rows = await trx
        .insertInto('mail_recipients')
        .values(agentIds.map((agentId) => ({ gpt_id: gptId, mail_id: mailId, agent_id: agentId, created_at: now })))
        .onConflict((oc) => oc.columns(['gpt_id', 'mail_id', 'agent_id']).doNothing())
        .returning('agent_id')
        .execute()
      // Thrown inside the transaction so that none of the others is added either.
      if (rows.length !== agentIds.length) throw new AlreadyRecipient()
      return now
    }).catch((error: unknown) => {
      if (error instanceof AlreadyRecipient) return null
      throw error
    })
  }

  async updateMail(gptId: string, id: string, change: Partial<Pick<MailRow, 'content' | 'type' | 'importance' | 'conversation_id' | 'parent_id'>> & { metadata?: JsonObject }): Promise<MailRow | null> {
    const { metadata, ...columns } = change
    const row = await this.db
      .updateTable('mail')
      .set({ ...columns, ...(metadata ? { metadata: JSON.stringify(metadata) } : {}), edited_at: sql`now()` })
      .where('gpt_id', '=', gptId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst()
    return row ?? null
  }

  async findMetadataEntry(gptId: string, id: string): Promise<MetadataRow | null> {
    return (await this.db.selectFrom('mail_metadata').selectAll().where('gpt_id', '=', gptId).where('id', '=', id).executeTakeFirst()) ?? null
  }

  /** 'taken' when the new key is another entry's on the same mail. */
  async updateMetadataEntry(gptId: string, id: string, change: { key?: string; value?: JsonValue }, setBy: string | null): Promise<MetadataRow | 'taken' | null> {
    try {
      const row = await this.db
        .updateTable('mail_metadata')
        .set({
          ...(change.key !== undefined ? { key: change.key } : {}),
          ...(change.value !== undefined ? { value: JSON.stringify(change.value) } : {}),
          set_by: setBy,
          updated_at: sql`now()`,
        })
        .where('gpt_id', '=', gptId)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst()
      return row ?? null
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) return 'taken'
      throw error
    }
  }

  async findMail(gptId: string, id: string): Promise<MailRow | null> {
    return (await this.db.selectFrom('mail').selectAll().where('gpt_id', '=', gptId).where('id', '=', id).executeTakeFirst()) ?? null
  }

  // The mails' ids go as one array parameter: one prepared statement for a page of any size, where a
  // list of parameters made a new text, planned again, for each.
  async recipientsOf(gptId: string, mailIds: string[]): Promise<RecipientRow[]> {
    if (mailIds.length === 0) return []
    const query = this.db.selectFrom('mail_recipients').select(RECIPIENT_COLUMNS).where('gpt_id', '=', gptId).where('mail_id', '=', anyUuid(mailIds))
    return (await executePrepared(this.db, query.orderBy('agent_id'))).rows
  }

  async metadataOf(gptId: string, mailIds: string[]): Promise<MetadataRow[]> {
    if (mailIds.length === 0) return []
    const query = this.db.selectFrom('mail_metadata').select(METADATA_COLUMNS).where('gpt_id', '=', gptId).where('mail_id', '=', anyUuid(mailIds))
    return (await executePrepared(this.db, query.orderBy('key'))).rows
  }

  async putMetadata(gptId: string, mailId: string, key: string, value: JsonValue, setBy: string | null): Promise<MetadataRow> {
    const json = JSON.stringify(value)
    return this.db
      .insertInto('mail_metadata')
      .values({ gpt_id: gptId, mail_id: mailId, key, value: json, set_by: setBy })
      .onConflict((oc) => oc.columns(['gpt_id', 'mail_id', 'key']).doUpdateSet({ value: json, set_by: setBy, updated_at: sql`now()` }))
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  /** An agent's mail, received (and sent with `includeSent`), seeking on (created_at, id). */
  async inbox(gptId: string, agentId: string, filters: InboxFilters, page: { order: SortOrder; limit: number; after: [Date, string] | null }): Promise<InboxRow[]> {
    const cmp = page.order === 'asc' ? '>' : '<'
    const received = this.db
      .selectFrom('mail_recipients as r')
      .innerJoin('mail as m', (join) => join.onRef('m.gpt_id', '=', 'r.gpt_id').onRef('m.id', '=', 'r.mail_id'))
      .select(MAIL_COLUMNS)
      .select([sql<'received' | 'sent'>`'received'`.as('direction'), 'r.read_at', 'r.created_at as delivered_at'])
      .where('r.gpt_id', '=', gptId)
      .where('r.agent_id', '=', agentId)
      .$if(filters.unread, (q) => q.where('r.read_at', 'is', null))
      .$if(filters.conversationId !== null, (q) => q.where('m.conversation_id', '=', filters.conversationId))
      .$if(filters.minImportance !== null, (q) => q.where('m.importance', '>=', filters.minImportance!))
      .$if(page.after !== null, (q) => q.where((eb) => eb(eb.refTuple('r.created_at', 'r.mail_id'), cmp, eb.tuple(page.after![0], page.after![1]))))
    if (!filters.includeSent || filters.unread) {
      const ordered = received.orderBy('r.created_at', page.order).orderBy('r.mail_id', page.order).limit(limitInText(page.limit + 1))
      // An inbox page, read or unread, walks the agent's inbox index whatever the values (the page an
      // agent polls for): a prepared statement. A conversation or importance filter's best plan depends
      // on its value: planned each time.
      const plain = filters.conversationId === null && filters.minImportance === null
      return plain ? (await executePrepared(this.db, ordered)).rows : ordered.execute()
    }
    const sent = this.db
      .selectFrom('mail as m')
      .select(MAIL_COLUMNS)
      .select([sql<'received' | 'sent'>`'sent'`.as('direction'), sql<Date | null>`null::timestamptz`.as('read_at'), 'm.created_at as delivered_at'])
      .where('m.gpt_id', '=', gptId)
      .where('m.sender_id', '=', agentId)
      // Mail to oneself is listed once, as received.
      .where((eb) =>
        eb.not(
          eb.exists(
            eb.selectFrom('mail_recipients as self').select('self.mail_id').whereRef('self.gpt_id', '=', 'm.gpt_id').whereRef('self.mail_id', '=', 'm.id').where('self.agent_id', '=', agentId),
          ),
        ),
      )
      .$if(filters.conversationId !== null, (q) => q.where('m.conversation_id', '=', filters.conversationId))
      .$if(filters.minImportance !== null, (q) => q.where('m.importance', '>=', filters.minImportance!))
      .$if(page.after !== null, (q) => q.where((eb) => eb(eb.refTuple('m.created_at', 'm.id'), cmp, eb.tuple(page.after![0], page.after![1]))))
    const rows = await this.db
      .selectFrom(received.unionAll(sent).as('both'))
      .selectAll()
      .orderBy('delivered_at', page.order)
      .orderBy('id', page.order)
      .limit(page.limit + 1)
      .execute()
    return rows as InboxRow[]
  }

  /** Marks the agent's unread rows read, up to a time or by ids; returns how many changed. */
  async markRead(gptId: string, agentId: string, which: { upTo: Date } | { ids: string[] }): Promise<number> {
    let query = this.db
      .updateTable('mail_recipients')
      .set({ read_at: sql`now()` })
      .where('gpt_id', '=', gptId)
      .where('agent_id', '=', agentId)
      .where('read_at', 'is', null)
    query = 'upTo' in which ? query.where('created_at', '<=', which.upTo) : query.where('mail_id', 'in', which.ids)
    return Number((await query.executeTakeFirst()).numUpdatedRows)
  }

  /** The conversation's mail, oldest first, that `party` may see (all of it for null). */
  async conversationMail(gptId: string, conversationId: string, party: string | null, limit: number): Promise<MailRow[]> {
    return this.db
      .selectFrom('mail as m')
      .selectAll('m')
      .where('m.gpt_id', '=', gptId)
      .where('m.conversation_id', '=', conversationId)
      .where(partyCondition(party))
      .orderBy('m.created_at', 'asc')
      .orderBy('m.id', 'asc')
      .limit(limit)
      .execute()
  }

  /** How much of the conversation's mail `party` may see, and the unread of each recipient in it. */
  async conversationTotals(gptId: string, conversationId: string, party: string | null): Promise<{ total: number; unread: { agent_id: string; unread: number }[] }> {
    const total = await this.db
      .selectFrom('mail as m')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('m.gpt_id', '=', gptId)
      .where('m.conversation_id', '=', conversationId)
      .where(partyCondition(party))
      .executeTakeFirstOrThrow()
    const unread = await this.db
      .selectFrom('mail_recipients as r')
      .innerJoin('mail as m', (join) => join.onRef('m.gpt_id', '=', 'r.gpt_id').onRef('m.id', '=', 'r.mail_id'))
      .select(['r.agent_id', sql<number>`count(*) filter (where r.read_at is null)::int`.as('unread')])
      .where('m.gpt_id', '=', gptId)
      .where('m.conversation_id', '=', conversationId)
      .where(partyCondition(party))
      .groupBy('r.agent_id')
      .execute()
    return { total: Number(total.n), unread }
  }

  /** Whether the agent sent or received any mail in the conversation. */
  async takesPart(gptId: string, conversationId: string, agentId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('mail as m')
      .select('m.id')
      .where('m.gpt_id', '=', gptId)
      .where('m.conversation_id', '=', conversationId)
      .where(partyCondition(agentId))
      .limit(1)
      .executeTakeFirst()
    return row !== undefined
  }

  /** Deletes up to `limit` mail sent more than `days` ago, oldest first (recipients and metadata cascade). */
  async deleteOlderThan(gptId: string, days: number, limit: number): Promise<number> {
    const result = await sql`
      delete from mail where gpt_id = ${gptId} and id in (
        select id from mail where gpt_id = ${gptId} and created_at < now() - make_interval(days => ${days})
        order by created_at limit ${limit})`.execute(this.db)
    return Number(result.numAffectedRows ?? 0n)
  }
}
