import { sql, type Insertable, type Kysely, type Selectable } from 'kysely'
import type { AuditLogTable, Tables } from '../../platform/db/tables.js'
import type { PageRequest } from '../../platform/http/pagination.js'

export type AuditRow = Selectable<AuditLogTable>
export type NewAuditRow = Insertable<AuditLogTable>

/** Whose log: one GPT's, or an account's own events with those of the GPTs it owns. */
export type AuditScope = { gptId: string } | { accountId: string; gptIds: string[] }

export interface AuditFilters {
  principalKind: string | null
  principalId: string | null
  action: string | null
  /** 2 for 2xx, 4 for 4xx, ... */
  statusClass: number | null
  createdAfter: Date | null
  createdBefore: Date | null
}

export class AuditRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  /**
   * One INSERT per batch, its columns sent as 14 arrays: a batch of 500 rows binds 14 parameters, not
   * 7000, which keeps the write cheap for both the service and the database it shares with requests.
   */
  async insertMany(rows: NewAuditRow[]): Promise<void> {
    if (rows.length === 0) return
    const column = <K extends keyof NewAuditRow>(name: K) => rows.map((row) => row[name] ?? null)
    await sql`
      insert into audit_log (gpt_id, id, account_id, principal_kind, principal_id, action, targets, status, duration_ms, request_id, ip, user_agent, request, created_at)
      select * from unnest(
        ${column('gpt_id')}::text[], ${column('id')}::uuid[], ${column('account_id')}::uuid[], ${column('principal_kind')}::text[],
        ${column('principal_id')}::text[], ${column('action')}::text[], ${column('targets')}::jsonb[], ${column('status')}::smallint[],
        ${column('duration_ms')}::real[], ${column('request_id')}::text[], ${column('ip')}::text[], ${column('user_agent')}::text[],
        ${column('request')}::jsonb[], ${column('created_at')}::timestamptz[]
      )`.execute(this.db)
  }

  async list(scope: AuditScope, filters: AuditFilters, page: PageRequest & { after: [Date, string] | null }): Promise<AuditRow[]> {
    const cmp = page.order === 'asc' ? '>' : '<'
    let query = this.db.selectFrom('audit_log').selectAll()
    if ('gptId' in scope) {
      query = query.where('gpt_id', '=', scope.gptId)
    } else {
      const { accountId, gptIds } = scope
      query = query.where((eb) =>
        gptIds.length === 0 ? eb('account_id', '=', accountId) : eb.or([eb('account_id', '=', accountId), eb('gpt_id', 'in', gptIds)]),
      )
    }
    if (filters.principalKind !== null) query = query.where('principal_kind', '=', filters.principalKind)
    if (filters.principalId !== null) query = query.where('principal_id', '=', filters.principalId)
    if (filters.action !== null) query = query.where('action', '=', filters.action)
    if (filters.statusClass !== null) {
      query = query.where('status', '>=', filters.statusClass * 100).where('status', '<', filters.statusClass * 100 + 100)
    }
    if (filters.createdAfter !== null) query = query.where('created_at', '>', filters.createdAfter)
    if (filters.createdBefore !== null) query = query.where('created_at', '<', filters.createdBefore)
    if (page.after) {
      const [createdAt, id] = page.after
      query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), cmp, eb.tuple(createdAt, id)))
    }
    return query.orderBy('created_at', page.order).orderBy('id', page.order).limit(page.limit + 1).execute()
  }

  /** Deletes the rows older than `retentionDays` by the database clock. */
  async purge(retentionDays: number): Promise<number> {
    const cutoff = sql<Date>`now() - make_interval(days => ${retentionDays})`
    const result = await this.db.deleteFrom('audit_log').where('created_at', '<', cutoff).executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}
