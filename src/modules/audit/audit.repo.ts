import { sql, type Kysely, type Selectable } from 'kysely'
import type { AuditEvent } from '../../platform/audit/audit.js'
import type { AuditLogTable, Tables } from '../../platform/db/tables.js'
import { storableText } from '../../platform/json-depth.js'
import { prepared } from '../../platform/db/prepared.js'
import type { PageRequest } from '../../platform/http/pagination.js'

export type AuditRow = Selectable<AuditLogTable>

/** One audit row as a JSON array in insertMany's column order. */
export type EncodedAuditRow = string & { readonly __brand: 'EncodedAuditRow' }

/**
 * An event as the row the buffer holds until its batch is written: one flat string rather than an
 * object graph, since buffered rows live long enough to reach V8's old generation, where every
 * object is paid for again by each major collection. The time is epoch milliseconds (PostgreSQL makes
 * the timestamp), which costs less than an ISO text per request.
 */
export function encodeAuditRow(event: AuditEvent, id: string, createdAtMs: number): EncodedAuditRow {
  const row = [
    event.gptId, id, event.accountId, event.principal.kind, event.principal.id, event.action, event.targets, event.status,
    event.durationMs, event.requestId, event.ip, event.userAgent, event.request, createdAtMs,
  ]
  const text = JSON.stringify(row)
  // A path parameter can carry U+0000 or a lone surrogate (percent-encoded), which PostgreSQL refuses
  // in text and jsonb: one such row would fail its whole batch. JSON escapes both as \u….
  return (text.includes('\\u0000') || text.includes('\\ud') ? JSON.stringify(row, storable) : text) as EncodedAuditRow
}

const storable = (_key: string, value: unknown) => (typeof value === 'string' ? storableText(value) : value)

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
   * One INSERT per batch, sent as one JSON text of encoded rows (see encodeAuditRow) and read as jsonb:
   * parsed once, where `json` would be parsed again for each of the 14 fields (measured on PostgreSQL
   * 15: 4.7 against 17 µs per row).
   */
  async insertMany(rows: EncodedAuditRow[]): Promise<void> {
    if (rows.length === 0) return
    const query = sql`
      insert into audit_log (gpt_id, id, account_id, principal_kind, principal_id, action, targets, status, duration_ms, request_id, ip, user_agent, request, created_at)
      select r->>0, (r->>1)::uuid, (r->>2)::uuid, r->>3, r->>4, r->>5, r->6, (r->>7)::smallint, (r->>8)::real, r->>9, r->>10, r->>11,
             nullif(r->12, 'null'::jsonb), to_timestamp((r->>13)::float8 / 1000)
      from jsonb_array_elements(${`[${rows.join(',')}]`}::jsonb) as r`.compile(this.db)
    await this.db.executeQuery(prepared(query))
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
