import { sql, type Kysely, type Selectable } from 'kysely'
import type { ExtractionRunsTable, ExtractionStatus, ExtractionTrigger, JsonValue, Tables } from '../../platform/db/tables.js'
import type { PageRequest } from '../../platform/http/pagination.js'

export type ExtractionRunRow = Selectable<ExtractionRunsTable>

/** A run still running this long after it started belongs to a process that died: it may be taken again. */
const STALE_RUN = sql`interval '15 minutes'`

export interface RunResult {
  status: 'done' | 'failed'
  reason: string | null
  extractor: string
  from_message_id: string | null
  to_message_id: string | null
  messages_read: number
  decisions: JsonValue[]
  summary: Record<string, number>
  tokens_in: number
  tokens_out: number
  attempts: number
}

export class ExtractionRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  /** A new queued run, or the session's run already waiting to start (a second request joins it). */
  async queueRun(row: { gpt_id: string; id: string; session_id: string; user_id: string; trigger: ExtractionTrigger }): Promise<{ run: ExtractionRunRow; created: boolean }> {
    const inserted = await this.db
      .insertInto('extraction_runs')
      .values(row)
      .onConflict((oc) => oc.columns(['gpt_id', 'session_id']).where('status', 'in', ['queued', 'waiting_budget']).doNothing())
      .returningAll()
      .executeTakeFirst()
    if (inserted) return { run: inserted, created: true }
    const pending = await this.db
      .selectFrom('extraction_runs')
      .selectAll()
      .where('gpt_id', '=', row.gpt_id)
      .where('session_id', '=', row.session_id)
      .where('status', 'in', ['queued', 'waiting_budget'])
      .executeTakeFirst()
    // Gone between the two statements (it started): queue anew.
    return pending ? { run: pending, created: false } : this.queueRun(row)
  }

  async findRun(gptId: string, id: string): Promise<ExtractionRunRow | null> {
    return (await this.db.selectFrom('extraction_runs').selectAll().where('gpt_id', '=', gptId).where('id', '=', id).executeTakeFirst()) ?? null
  }

  async listRuns(gptId: string, sessionId: string, page: PageRequest & { after: [Date, string] | null }): Promise<ExtractionRunRow[]> {
    const cmp = page.order === 'asc' ? '>' : '<'
    let query = this.db.selectFrom('extraction_runs').selectAll().where('gpt_id', '=', gptId).where('session_id', '=', sessionId)
    if (page.after) {
      const [createdAt, id] = page.after
      query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), cmp, eb.tuple(createdAt, id)))
    }
    return query.orderBy('created_at', page.order).orderBy('id', page.order).limit(page.limit + 1).execute()
  }

  /** Whether the session has a run queued, waiting or running (automatic extraction then adds none). */
  async hasOpenRun(gptId: string, sessionId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('extraction_runs')
      .select('id')
      .where('gpt_id', '=', gptId)
      .where('session_id', '=', sessionId)
      .where('status', 'in', ['queued', 'waiting_budget', 'running'])
      .executeTakeFirst()
    return row !== undefined
  }

  /** Runs started and tokens spent by the GPT since `since` (the start of the UTC day). */
  async usageSince(gptId: string, since: Date): Promise<{ runs: number; tokens: number }> {
    const row = await this.db
      .selectFrom('extraction_runs')
      .where('gpt_id', '=', gptId)
      .where('started_at', '>=', since)
      .select([sql<string>`count(*)`.as('runs'), sql<string>`coalesce(sum(tokens_in + tokens_out), 0)`.as('tokens')])
      .executeTakeFirstOrThrow()
    return { runs: Number(row.runs), tokens: Number(row.tokens) }
  }

  async markWaiting(gptId: string, id: string, reason: string): Promise<ExtractionRunRow | null> {
    return (
      (await this.db
        .updateTable('extraction_runs')
        .set({ status: 'waiting_budget', reason })
        .where('gpt_id', '=', gptId)
        .where('id', '=', id)
        .where('status', 'in', ['queued', 'waiting_budget'])
        .returningAll()
        .executeTakeFirst()) ?? null
    )
  }

  /**
   * Takes the run: only one run of a session runs at once (the cursor moves in order), and a run left
   * running by a dead process is taken again. Null: not takeable now ('busy') or not at all.
   */
  async claimRun(gptId: string, id: string): Promise<ExtractionRunRow | 'busy' | null> {
    const run = await this.findRun(gptId, id)
    if (!run) return null
    const takeable: ExtractionStatus[] = ['queued', 'waiting_budget', 'running']
    if (!takeable.includes(run.status)) return null
    const claimed = await this.db
      .updateTable('extraction_runs')
      .set({ status: 'running', reason: null, started_at: sql`now()` })
      .where('gpt_id', '=', gptId)
      .where('id', '=', id)
      .where((eb) => eb.or([eb('status', 'in', ['queued', 'waiting_budget']), eb.and([eb('status', '=', 'running'), eb('started_at', '<', sql<Date>`now() - ${STALE_RUN}`)])]))
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('extraction_runs as other')
              .select('other.id')
              .where('other.gpt_id', '=', gptId)
              .where('other.session_id', '=', run.session_id)
              .where('other.id', '!=', id)
              .where('other.status', '=', 'running')
              .where('other.started_at', '>=', sql<Date>`now() - ${STALE_RUN}`),
          ),
        ),
      )
      .returningAll()
      .executeTakeFirst()
    return claimed ?? 'busy'
  }

  /** Ends the run and, when it read messages, moves the session's cursor past them, in one transaction. */
  async finishRun(gptId: string, id: string, result: RunResult, cursor: { sessionId: string; messageId: string; createdAt: Date } | null): Promise<ExtractionRunRow | null> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('extraction_runs')
        .set({ ...result, decisions: JSON.stringify(result.decisions), summary: JSON.stringify(result.summary), finished_at: sql`now()` })
        .where('gpt_id', '=', gptId)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst()
      if (row && cursor) {
        await trx
          .insertInto('extraction_cursors')
          .values({ gpt_id: gptId, session_id: cursor.sessionId, message_id: cursor.messageId, message_created_at: cursor.createdAt })
          .onConflict((oc) => oc.columns(['gpt_id', 'session_id']).doUpdateSet({ message_id: cursor.messageId, message_created_at: cursor.createdAt, updated_at: sql`now()` }))
          .execute()
      }
      return row ?? null
    })
  }

  /** Tokens spent so far, recorded as each LLM call returns (the day's budget sees them at once). */
  async addUsage(gptId: string, id: string, tokensIn: number, tokensOut: number): Promise<void> {
    await this.db
      .updateTable('extraction_runs')
      .set((eb) => ({ tokens_in: eb('tokens_in', '+', tokensIn), tokens_out: eb('tokens_out', '+', tokensOut), attempts: eb('attempts', '+', 1) }))
      .where('gpt_id', '=', gptId)
      .where('id', '=', id)
      .execute()
  }

  async cursor(gptId: string, sessionId: string): Promise<[Date, string] | null> {
    const row = await this.db
      .selectFrom('extraction_cursors')
      .select(['message_created_at', 'message_id'])
      .where('gpt_id', '=', gptId)
      .where('session_id', '=', sessionId)
      .executeTakeFirst()
    return row ? [row.message_created_at, row.message_id] : null
  }

  /** Runs waiting for their budget, and queued runs whose dispatch was lost, for the periodic sweep. */
  async runsToRetry(limit: number): Promise<{ gpt_id: string; id: string }[]> {
    return this.db
      .selectFrom('extraction_runs')
      .select(['gpt_id', 'id'])
      .where((eb) => eb.or([eb('status', '=', 'waiting_budget'), eb.and([eb('status', '=', 'queued'), eb('created_at', '<', sql<Date>`now() - interval '5 minutes'`)])]))
      .orderBy('created_at')
      .limit(limit)
      .execute()
  }
}
