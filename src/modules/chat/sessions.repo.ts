import { sql, type Kysely, type Selectable } from 'kysely'
import type { ChatSessionsTable, JsonObject, Tables } from '../../platform/db/tables.js'
import { firstPrepared } from '../../platform/db/prepared.js'
import type { PageRequest } from '../../platform/http/pagination.js'

export type SessionRow = Selectable<ChatSessionsTable> & { unanswered_message_id?: string | null }

/** Named, not `*`, in the prepared reads: a column another release adds must not change their result. */
const SESSION_COLUMNS = [
  'gpt_id', 'id', 'user_id', 'name', 'metadata', 'character_id', 'is_favorite', 'last_activity_at', 'generating_message_id', 'generation_lease_until', 'created_at', 'updated_at',
] as const satisfies readonly (keyof ChatSessionsTable)[]

/**
 * The session's last user message when nothing answers it: no AI message after it is complete or kept
 * any text, and no live generation holds the session (its reply never started, failed at once, or
 * was cancelled before a word). Its ids are time-ordered with its `created_at`.
 */
const unanswered = sql<string | null>`(
  select u.id from chat_messages u
  where u.gpt_id = chat_sessions.gpt_id and u.session_id = chat_sessions.id and u.sender = 'user'
    and (chat_sessions.generating_message_id is null or chat_sessions.generation_lease_until <= now())
    and not exists (
      select 1 from chat_messages r
      where r.gpt_id = u.gpt_id and r.session_id = u.session_id and r.sender = 'ai'
        and (r.created_at, r.id) > (u.created_at, u.id) and (r.status = 'complete' or r.partial_content <> '')
    )
  order by u.created_at desc, u.id desc
  limit 1
)`.as('unanswered_message_id')

export interface SessionPage extends PageRequest {
  sort: 'activity' | 'favorites'
  /** Rows skipped before the page (offset paging); 0 with a cursor. */
  offset: number
  after: [Date, string] | [boolean, Date, string] | null
}

export interface SessionFilters {
  userId: string | null
  favorite: boolean | null
  /** Case-insensitive substring of the name, taken literally. */
  q: string | null
}

/** `%`, `_` and `\` match themselves in a LIKE pattern (whose escape character is `\`). */
export const likeLiteral = (text: string) => text.replace(/[\\%_]/g, (char) => `\\${char}`)

export class SessionsRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  async insertSession(row: {
    gpt_id: string
    id: string
    user_id: string
    name: string | null
    metadata: JsonObject
    character_id: string | null
    is_favorite: boolean
  }, db: Kysely<Tables> = this.db): Promise<SessionRow> {
    return db
      .insertInto('chat_sessions')
      .values({ ...row, metadata: JSON.stringify(row.metadata) })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async findSession(gptId: string, id: string, db: Kysely<Tables> = this.db): Promise<SessionRow | null> {
    return firstPrepared(db, db.selectFrom('chat_sessions').select(SESSION_COLUMNS).select(unanswered).where('gpt_id', '=', gptId).where('id', '=', id))
  }

  async updateSession(
    gptId: string,
    id: string,
    change: { name?: string | null; is_favorite?: boolean; metadata?: JsonObject; character_id?: string | null },
  ): Promise<SessionRow | null> {
    const { metadata, ...rest } = change
    return (
      (await this.db
        .updateTable('chat_sessions')
        .set({
          ...rest,
          // Metadata merges by top-level key, like PATCH everywhere in this API.
          ...(metadata ? { metadata: sql`metadata || ${JSON.stringify(metadata)}::jsonb` } : {}),
          updated_at: sql`now()`,
        })
        .where('gpt_id', '=', gptId)
        .where('id', '=', id)
        .returningAll()
        .returning(unanswered)
        .executeTakeFirst()) ?? null
    )
  }

  /**
   * Marks activity on the session (a message was added), inside the caller's transaction so that it
   * commits with the message; the row stays locked until then. Null when there is no such session.
   */
  async touchSession(gptId: string, id: string, db: Kysely<Tables> = this.db): Promise<SessionRow | null> {
    const query = db
      .updateTable('chat_sessions')
      .set({ last_activity_at: sql`now()`, updated_at: sql`now()` })
      .where('gpt_id', '=', gptId)
      .where('id', '=', id)
      .returning(SESSION_COLUMNS)
    return firstPrepared(db, query)
  }

  /** Sorted by (last_activity_at, id), or (is_favorite, last_activity_at, id) for `favorites`, in the page's order. */
  async listSessions(gptId: string, filters: SessionFilters, page: SessionPage): Promise<SessionRow[]> {
    const cmp = page.order === 'asc' ? '>' : '<'
    let query = this.filtered(gptId, filters).selectAll().select(unanswered)
    if (page.after && page.sort === 'favorites') {
      const [favorite, activity, id] = page.after as [boolean, Date, string]
      query = query.where((eb) => eb(eb.refTuple('is_favorite', 'last_activity_at', 'id'), cmp, eb.tuple(favorite, activity, id)))
    } else if (page.after) {
      const [activity, id] = page.after as [Date, string]
      query = query.where((eb) => eb(eb.refTuple('last_activity_at', 'id'), cmp, eb.tuple(activity, id)))
    }
    if (page.sort === 'favorites') query = query.orderBy('is_favorite', page.order)
    query = query.orderBy('last_activity_at', page.order).orderBy('id', page.order).limit(page.limit + 1)
    return (page.offset > 0 ? query.offset(page.offset) : query).execute()
  }

  async countSessions(gptId: string, filters: SessionFilters): Promise<number> {
    const row = await this.filtered(gptId, filters).select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow()
    return Number(row.count)
  }

  private filtered(gptId: string, filters: SessionFilters) {
    let query = this.db.selectFrom('chat_sessions').where('gpt_id', '=', gptId)
    if (filters.userId !== null) query = query.where('user_id', '=', filters.userId)
    if (filters.favorite !== null) query = query.where('is_favorite', '=', filters.favorite)
    if (filters.q !== null) query = query.where(sql<boolean>`name ilike ${`%${likeLiteral(filters.q)}%`} escape '\\'`)
    return query
  }

  /** Deletes the session; its messages go with it (foreign key cascade). */
  async deleteSession(gptId: string, id: string): Promise<boolean> {
    return (await this.db.deleteFrom('chat_sessions').where('gpt_id', '=', gptId).where('id', '=', id).executeTakeFirst()).numDeletedRows > 0n
  }

  /**
   * Deletes up to `limit` messages of the sessions idle for more than `days` (none is generating),
   * so that the sessions themselves then go without a long cascade; returns how many went.
   */
  async deleteMessagesOfIdle(gptId: string, days: number, limit: number): Promise<number> {
    const result = await sql`
      delete from chat_messages where gpt_id = ${gptId} and id in (
        select m.id from chat_messages m join chat_sessions s on s.gpt_id = m.gpt_id and s.id = m.session_id
        where s.gpt_id = ${gptId} and ${idle(days)} limit ${limit})`.execute(this.db)
    return Number(result.numAffectedRows ?? 0n)
  }

  /** Deletes up to `limit` sessions idle for more than `days`, least recently active first (messages cascade). */
  async deleteIdle(gptId: string, days: number, limit: number): Promise<number> {
    const result = await sql`
      delete from chat_sessions where gpt_id = ${gptId} and id in (
        select s.id from chat_sessions s where s.gpt_id = ${gptId} and ${idle(days)}
        order by s.last_activity_at limit ${limit})`.execute(this.db)
    return Number(result.numAffectedRows ?? 0n)
  }
}

/** Session `s` has had no activity for `days` days and no live generation (a lease still running). */
function idle(days: number) {
  return sql<boolean>`s.last_activity_at < now() - make_interval(days => ${days})
    and (s.generation_lease_until is null or s.generation_lease_until < now())`
}
