import { sql, type Kysely, type Selectable } from 'kysely'
import type { ConversationsTable, JsonObject, Tables } from '../../platform/db/tables.js'
import type { PageRequest } from '../../platform/http/pagination.js'
import { partyCondition } from './mail.party.js'

export type ConversationRow = Selectable<ConversationsTable>

export interface ConversationFilters {
  archived: boolean | null
  where: JsonObject | null
  /** Only conversations with mail this agent may see (null: all). */
  party: string | null
}

export class ConversationsRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  async insertConversation(row: { gpt_id: string; id: string; title: string; description: string | null; archived: boolean; metadata: JsonObject }): Promise<ConversationRow> {
    return this.db
      .insertInto('conversations')
      .values({ ...row, metadata: JSON.stringify(row.metadata) })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async findConversation(gptId: string, id: string): Promise<ConversationRow | null> {
    return (await this.db.selectFrom('conversations').selectAll().where('gpt_id', '=', gptId).where('id', '=', id).executeTakeFirst()) ?? null
  }

  async updateConversation(
    gptId: string,
    id: string,
    change: { title?: string; description?: string | null; archived?: boolean; metadata?: JsonObject },
  ): Promise<ConversationRow | null> {
    const { metadata, ...rest } = change
    return (
      (await this.db
        .updateTable('conversations')
        .set({ ...rest, ...(metadata ? { metadata: sql`metadata || ${JSON.stringify(metadata)}::jsonb` } : {}), updated_at: sql`now()` })
        .where('gpt_id', '=', gptId)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst()) ?? null
    )
  }

  async listConversations(gptId: string, filters: ConversationFilters, page: PageRequest & { after: [Date, string] | null }): Promise<ConversationRow[]> {
    const cmp = page.order === 'asc' ? '>' : '<'
    let query = this.db.selectFrom('conversations as c').selectAll('c').where('c.gpt_id', '=', gptId)
    if (filters.archived !== null) query = query.where('c.archived', '=', filters.archived)
    if (filters.where) query = query.where(sql<boolean>`c.metadata @> ${JSON.stringify(filters.where)}::jsonb`)
    if (filters.party !== null) {
      const party = filters.party
      query = query.where((eb) =>
        eb.exists(eb.selectFrom('mail as m').select('m.id').whereRef('m.gpt_id', '=', 'c.gpt_id').whereRef('m.conversation_id', '=', 'c.id').where(partyCondition(party))),
      )
    }
    if (page.after) {
      const [createdAt, id] = page.after
      query = query.where((eb) => eb(eb.refTuple('c.created_at', 'c.id'), cmp, eb.tuple(createdAt, id)))
    }
    return query.orderBy('c.created_at', page.order).orderBy('c.id', page.order).limit(page.limit + 1).execute()
  }

  async deleteConversation(gptId: string, id: string): Promise<boolean> {
    return (await this.db.deleteFrom('conversations').where('gpt_id', '=', gptId).where('id', '=', id).executeTakeFirst()).numDeletedRows > 0n
  }
}
