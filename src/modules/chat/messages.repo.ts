import { sql, type Kysely, type Selectable } from 'kysely'
import type { ChatMessagesTable, JsonValue, MessageSender, MessageStatus, Tables } from '../../platform/db/tables.js'
import { executePrepared, firstPrepared, limitInText } from '../../platform/db/prepared.js'
import type { PageRequest } from '../../platform/http/pagination.js'

/** A message as stored, without its search vector. */
export type MessageRow = Omit<Selectable<ChatMessagesTable>, 'search'>

export const MESSAGE_COLUMNS = [
  'gpt_id',
  'session_id',
  'id',
  'sender',
  'content',
  'context',
  'status',
  'partial_content',
  'error_message',
  'model',
  'character_id',
  'created_at',
  'updated_at',
] as const

export interface NewMessageRow {
  gpt_id: string
  session_id: string
  id: string
  sender: MessageSender
  content: string
  context: JsonValue | null
  status: MessageStatus
  partial_content: string
  error_message: string | null
  model: string | null
  character_id: string | null
}

export interface MessageChange {
  status?: MessageStatus
  content?: string
  /** Set the content to the stored partial content (or keep it when that is empty), as it is at the time of the write. */
  contentFromPartial?: boolean
  partial_content?: string
  error_message?: string | null
  context?: JsonValue | null
}

const jsonOrNull = (value: JsonValue | null) => (value === null ? null : JSON.stringify(value))

export class MessagesRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  /** Inserts one message (the caller's transaction also marks activity on the session). */
  async insertMessage(row: NewMessageRow, db: Kysely<Tables> = this.db): Promise<MessageRow> {
    const query = db.insertInto('chat_messages').values({ ...row, context: jsonOrNull(row.context) }).returning(MESSAGE_COLUMNS)
    return (await executePrepared(db, query)).rows[0]!
  }

  async findMessage(gptId: string, id: string): Promise<MessageRow | null> {
    return firstPrepared(this.db, this.db.selectFrom('chat_messages').select(MESSAGE_COLUMNS).where('gpt_id', '=', gptId).where('id', '=', id))
  }

  /**
   * Applies the change only while the message still has status `expected`: a transition checked
   * against a read row cannot win after another one moved the message on. Null when it lost.
   */
  async updateMessage(gptId: string, id: string, expected: MessageStatus, change: MessageChange): Promise<MessageRow | null> {
    const { contentFromPartial, context, ...rest } = change
    return (
      (await this.db
        .updateTable('chat_messages')
        .set({
          ...rest,
          ...(context !== undefined ? { context: jsonOrNull(context) } : {}),
          ...(contentFromPartial && rest.content === undefined
            ? { content: sql<string>`case when partial_content <> '' then partial_content else content end` }
            : {}),
          updated_at: sql`now()`,
        })
        .where('gpt_id', '=', gptId)
        .where('id', '=', id)
        .where('status', '=', expected)
        .returning(MESSAGE_COLUMNS)
        .executeTakeFirst()) ?? null
    )
  }

  /** Sorted by (created_at, id) in the page's order. */
  async listMessages(gptId: string, sessionId: string, page: PageRequest & { after: [Date, string] | null; offset: number }): Promise<MessageRow[]> {
    const cmp = page.order === 'asc' ? '>' : '<'
    let query = this.db.selectFrom('chat_messages').select(MESSAGE_COLUMNS).where('gpt_id', '=', gptId).where('session_id', '=', sessionId)
    if (page.after) {
      const [createdAt, id] = page.after
      query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), cmp, eb.tuple(createdAt, id)))
    }
    query = query.orderBy('created_at', page.order).orderBy('id', page.order).limit(limitInText(page.limit + 1))
    if (page.offset > 0) return query.offset(page.offset).execute()
    // Without an offset the page walks the session's index whatever the values: a prepared statement.
    return (await executePrepared(this.db, query)).rows
  }

  async countMessages(gptId: string, sessionId: string): Promise<number> {
    const row = await this.db
      .selectFrom('chat_messages')
      .where('gpt_id', '=', gptId)
      .where('session_id', '=', sessionId)
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .executeTakeFirstOrThrow()
    return Number(row.count)
  }

  /** The last `limit` messages of the session, oldest first. */
  async recentMessages(gptId: string, sessionId: string, limit: number): Promise<MessageRow[]> {
    if (limit <= 0) return []
    const query = this.db
      .selectFrom('chat_messages')
      .select(MESSAGE_COLUMNS)
      .where('gpt_id', '=', gptId)
      .where('session_id', '=', sessionId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
    return (await executePrepared(this.db, query)).rows.reverse()
  }

  /** Complete messages after `after` (created_at, id), oldest first: what extraction has not read yet. */
  async completeMessagesAfter(gptId: string, sessionId: string, after: [Date, string] | null, limit: number): Promise<MessageRow[]> {
    let query = this.db.selectFrom('chat_messages').select(MESSAGE_COLUMNS).where('gpt_id', '=', gptId).where('session_id', '=', sessionId).where('status', '=', 'complete')
    if (after) query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), '>', eb.tuple(after[0], after[1])))
    return query.orderBy('created_at', 'asc').orderBy('id', 'asc').limit(limit).execute()
  }

  /** How many user messages came after `after`: the turns automatic extraction counts. */
  async countUserMessagesAfter(gptId: string, sessionId: string, after: [Date, string] | null): Promise<number> {
    let query = this.db.selectFrom('chat_messages').where('gpt_id', '=', gptId).where('session_id', '=', sessionId).where('sender', '=', 'user')
    if (after) query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), '>', eb.tuple(after[0], after[1])))
    const row = await query.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow()
    return Number(row.count)
  }
}
