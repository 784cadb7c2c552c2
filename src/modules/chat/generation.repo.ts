import { sql, type Kysely } from 'kysely'
import type { JsonValue, MessageStatus, Tables } from '../../platform/db/tables.js'
import { executePrepared, firstPrepared } from '../../platform/db/prepared.js'
import { MESSAGE_COLUMNS, type MessageRow } from './messages.repo.js'

export const INTERRUPTED = 'interrupted: the generation stopped before it finished (the service restarted or stopped); resume it to continue'

/**
 * The writes of a generation. At most one runs per session: it holds the session's lease
 * (`generating_message_id` until `generation_lease_until`), renewed while it runs, so that a process
 * that dies simply lets the lease run out.
 */
export class GenerationRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  /**
   * Takes the session's lease for the message; false when any live generation holds it — also one of
   * this same message (a resume must not take over a generation another process is still running) —
   * or when the session is gone.
   */
  async acquireLease(db: Kysely<Tables>, gptId: string, sessionId: string, messageId: string, leaseMs: number): Promise<boolean> {
    const query = db
      .updateTable('chat_sessions')
      // A generation is activity on the session: marked in the same write.
      .set({
        generating_message_id: messageId,
        generation_lease_until: sql`now() + make_interval(secs => ${leaseMs / 1000})`,
        last_activity_at: sql`now()`,
        updated_at: sql`now()`,
      })
      .where('gpt_id', '=', gptId)
      .where('id', '=', sessionId)
      .where((eb) => eb.or([eb('generating_message_id', 'is', null), eb('generation_lease_until', '<', sql<Date>`now()`)]))
    return ((await executePrepared(db, query)).numAffectedRows ?? 0n) > 0n
  }

  async renewLease(gptId: string, sessionId: string, messageId: string, leaseMs: number): Promise<void> {
    await executePrepared(
      this.db,
      this.db
        .updateTable('chat_sessions')
        .set({ generation_lease_until: sql`now() + make_interval(secs => ${leaseMs / 1000})` })
        .where('gpt_id', '=', gptId)
        .where('id', '=', sessionId)
        .where('generating_message_id', '=', messageId),
    )
  }

  async releaseLease(gptId: string, sessionId: string, messageId: string): Promise<void> {
    await executePrepared(
      this.db,
      this.db
        .updateTable('chat_sessions')
        .set({ generating_message_id: null, generation_lease_until: null, last_activity_at: sql`now()`, updated_at: sql`now()` })
        .where('gpt_id', '=', gptId)
        .where('id', '=', sessionId)
        .where('generating_message_id', '=', messageId),
    )
  }

  /** The newest AI message of the session (what resume continues). */
  async lastAiMessage(gptId: string, sessionId: string): Promise<MessageRow | null> {
    return (
      (await this.db
        .selectFrom('chat_messages')
        .select(MESSAGE_COLUMNS)
        .where('gpt_id', '=', gptId)
        .where('session_id', '=', sessionId)
        .where('sender', '=', 'ai')
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst()) ?? null
    )
  }

  /** The history before a message, oldest first (at most `limit` messages). */
  async historyBefore(gptId: string, sessionId: string, before: { created_at: Date; id: string } | null, limit: number): Promise<MessageRow[]> {
    if (limit <= 0) return []
    let query = this.db.selectFrom('chat_messages').select(MESSAGE_COLUMNS).where('gpt_id', '=', gptId).where('session_id', '=', sessionId)
    if (before) query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(before.created_at, before.id)))
    const { rows } = await executePrepared(this.db, query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit))
    return rows.reverse()
  }

  /**
   * `from` → in_progress, recording the model and character that now write it; null when the message
   * left `from` meanwhile (a cancel that came first must not be undone).
   */
  async start(
    gptId: string,
    id: string,
    from: MessageStatus,
    writer: { partial: string; model: string | null; characterId: string | null },
    context: JsonValue | null | undefined,
  ): Promise<MessageRow | null> {
    return firstPrepared(
      this.db,
      this.db
        .updateTable('chat_messages')
        .set({
          status: 'in_progress',
          partial_content: writer.partial,
          model: writer.model,
          character_id: writer.characterId,
          error_message: null,
          ...(context !== undefined ? { context: context === null ? null : JSON.stringify(context) } : {}),
          updated_at: sql`now()`,
        })
        .where('gpt_id', '=', gptId)
        .where('id', '=', id)
        .where('status', '=', from)
        .returning(MESSAGE_COLUMNS),
    )
  }

  async savePartial(gptId: string, id: string, partial: string): Promise<void> {
    await executePrepared(
      this.db,
      this.db
        .updateTable('chat_messages')
        .set({ partial_content: partial, updated_at: sql`now()` })
        .where('gpt_id', '=', gptId)
        .where('id', '=', id)
        .where('status', '=', 'in_progress'),
    )
  }

  async complete(gptId: string, id: string, content: string): Promise<MessageRow | null> {
    return this.finish(gptId, id, { status: 'complete', content, partial_content: content, error_message: null })
  }

  async fail(gptId: string, id: string, partial: string, error: string): Promise<MessageRow | null> {
    return this.finish(gptId, id, { status: 'failed', partial_content: partial, error_message: error.slice(0, 2000) })
  }

  /** The generation was stopped on request: the text so far is kept for resume. */
  async cancel(gptId: string, id: string, partial: string): Promise<MessageRow | null> {
    return this.finish(gptId, id, { status: 'cancelled', partial_content: partial, error_message: null })
  }

  /** True while a live generation of this message holds its session's lease (on any process). */
  async leaseHeld(gptId: string, sessionId: string, messageId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('chat_sessions')
      .select('id')
      .where('gpt_id', '=', gptId)
      .where('id', '=', sessionId)
      .where('generating_message_id', '=', messageId)
      .where('generation_lease_until', '>', sql<Date>`now()`)
      .executeTakeFirst()
    return row !== undefined
  }

  /**
   * Cancels a message no process is generating (none holds it, or the one that did is gone), with the
   * text it last saved, and frees its session's lease. Null when it is not pending or in progress.
   */
  async cancelStored(gptId: string, sessionId: string, id: string): Promise<MessageRow | null> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('chat_messages')
        .set({ status: 'cancelled', error_message: null, updated_at: sql`now()` })
        .where('gpt_id', '=', gptId)
        .where('id', '=', id)
        .where('status', 'in', ['pending', 'in_progress'])
        .returning(MESSAGE_COLUMNS)
        .executeTakeFirst()
      if (!row) return null
      await trx
        .updateTable('chat_sessions')
        .set({ generating_message_id: null, generation_lease_until: null })
        .where('gpt_id', '=', gptId)
        .where('id', '=', sessionId)
        .where('generating_message_id', '=', id)
        .execute()
      return row
    })
  }

  private async finish(
    gptId: string,
    id: string,
    change: { status: 'complete' | 'failed' | 'cancelled'; content?: string; partial_content: string; error_message: string | null },
  ): Promise<MessageRow | null> {
    return firstPrepared(
      this.db,
      this.db
        .updateTable('chat_messages')
        .set({ ...change, updated_at: sql`now()` })
        .where('gpt_id', '=', gptId)
        .where('id', '=', id)
        .where('status', '=', 'in_progress')
        .returning(MESSAGE_COLUMNS),
    )
  }

  /**
   * Marks failed the in-progress messages no live generation holds: with `all` (one embedded process,
   * just started) every one of them, otherwise those whose session lease ran out or belongs to another
   * message. A pending message whose generation took the lease and never started (the process died
   * first) is marked too; pending messages a client stores itself hold no lease and are left alone.
   * Their sessions' stale leases are cleared. Returns the messages it marked.
   */
  async failInterrupted(all: boolean): Promise<{ id: string; gpt_id: string }[]> {
    return this.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ id: string; gpt_id: string }>`
        update chat_messages m
        set status = 'failed', error_message = ${INTERRUPTED}, updated_at = now()
        where (m.status = 'in_progress' or (m.status = 'pending' and exists (
            select 1 from chat_sessions s
            where s.gpt_id = m.gpt_id and s.id = m.session_id and s.generating_message_id = m.id
              ${all ? sql`` : sql`and s.generation_lease_until <= now()`}
          )))
          ${all ? sql`` : sql`and not exists (
            select 1 from chat_sessions s
            where s.gpt_id = m.gpt_id and s.id = m.session_id and s.generating_message_id = m.id and s.generation_lease_until > now()
          )`}
        returning m.id, m.gpt_id
      `.execute(trx)
      await sql`
        update chat_sessions set generating_message_id = null, generation_lease_until = null
        where generating_message_id is not null ${all ? sql`` : sql`and generation_lease_until < now()`}
      `.execute(trx)
      return rows
    })
  }
}
