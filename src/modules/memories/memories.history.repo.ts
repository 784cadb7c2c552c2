import { sql, type Kysely, type Selectable } from 'kysely'
import type { JsonObject, MemoryAction, Tables } from '../../platform/db/tables.js'
import type { AuditPrincipal } from '../../platform/audit/audit.js'
import { snapshotOf } from './memories.repo.js'

export interface HistoryEntry {
  gpt_id: string
  memory_id: string
  user_id: string | null
  action: MemoryAction
  old: JsonObject | null
  new: JsonObject | null
  actor: MemoryActor
}

/** Who changed a memory: a caller as the audit log names it, or a job of the service. */
export type MemoryActor = AuditPrincipal | { kind: 'job'; id: string }

/** The actor of the expiry purge. */
export const EXPIRY_ACTOR: MemoryActor = { kind: 'job', id: 'memories.purge-expired' }

/** The history of memories: every change, with the fields before and after, who made it and when. */
export class MemoryHistoryRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  async record(db: Kysely<Tables>, entries: HistoryEntry[]): Promise<void> {
    if (entries.length === 0) return
    await db
      .insertInto('memory_history')
      .values(
        entries.map((entry) => ({
          gpt_id: entry.gpt_id,
          memory_id: entry.memory_id,
          user_id: entry.user_id,
          action: entry.action,
          old: entry.old === null ? null : JSON.stringify(entry.old),
          new: entry.new === null ? null : JSON.stringify(entry.new),
          actor_kind: entry.actor.kind,
          actor_id: entry.actor.id,
        })),
      )
      .execute()
  }

  /** Oldest first; `user`: only the rows of that end user's memory. */
  async list(gptId: string, memoryId: string, user: string | null, db: Kysely<Tables> = this.db): Promise<Selectable<Tables['memory_history']>[]> {
    let query = db.selectFrom('memory_history').selectAll().where('gpt_id', '=', gptId).where('memory_id', '=', memoryId)
    if (user !== null) query = query.where('user_id', '=', user)
    return query.orderBy('id').execute()
  }

  /** Forgets what a memory said: its history keeps who changed it and when, not the content. */
  async forget(db: Kysely<Tables>, gptId: string, memoryId: string): Promise<void> {
    await db.updateTable('memory_history').set({ old: null, new: null }).where('gpt_id', '=', gptId).where('memory_id', '=', memoryId).execute()
  }

  async purge(db: Kysely<Tables>, gptId: string, memoryId: string): Promise<void> {
    await db.deleteFrom('memory_history').where('gpt_id', '=', gptId).where('memory_id', '=', memoryId).execute()
  }

  /**
   * Deletes up to `limit` expired memories (of every GPT), recording an `expire` entry for each in the
   * same statement. Returns how many.
   */
  async purgeExpired(limit: number): Promise<number> {
    const { rows } = await sql<{ count: string }>`
      with gone as (
        delete from memories m where (m.gpt_id, m.id) in (
          select gpt_id, id from memories where expires_at <= now() order by expires_at limit ${limit} for update skip locked
        )
        returning m.gpt_id, m.id, m.user_id, ${snapshotOf('m')} as old
      ), recorded as (
        insert into memory_history (gpt_id, memory_id, user_id, action, old, new, actor_kind, actor_id)
        select gpt_id, id, user_id, 'expire', old, null, ${EXPIRY_ACTOR.kind}, ${EXPIRY_ACTOR.id} from gone
      )
      select count(*) as count from gone
    `.execute(this.db)
    return Number(rows[0]?.count ?? 0)
  }
}
