import { ERR } from '../../platform/errors.js'
import { pageRequest, toPage, type Page, type SortOrder } from '../../platform/http/pagination.js'
import { timeIdAfter } from '../../platform/http/seek.js'
import type { JsonValue } from '../../platform/db/tables.js'
import type { GptsService } from '../gpts/gpts.service.js'
import type { AuditFilters, AuditRepository, AuditRow, AuditScope } from './audit.repo.js'
import type { AuditQuery, AuditView } from './audit.schemas.js'

/** Rows per read of an NDJSON export: what one export holds in memory at a time. */
const EXPORT_BATCH = 500

export function toAuditView(row: AuditRow): AuditView {
  return {
    id: row.id,
    gpt_id: row.gpt_id,
    account_id: row.account_id,
    principal: { kind: row.principal_kind, id: row.principal_id },
    action: row.action,
    targets: row.targets,
    status: row.status,
    duration_ms: row.duration_ms,
    request_id: row.request_id,
    ip: row.ip,
    user_agent: row.user_agent,
    request: row.request as JsonValue | null,
    created_at: row.created_at.toISOString(),
  }
}

function filtersOf(query: AuditQuery): AuditFilters {
  const time = (value: string | undefined, pointer: string): Date | null => {
    if (value === undefined) return null
    const date = new Date(value)
    if (Number.isNaN(date.getTime())) throw ERR.validation(`${pointer.slice(1)} is not a time.`, [{ pointer, message: 'must be an RFC 3339 time' }])
    return date
  }
  return {
    principalKind: query.principal_kind ?? null,
    principalId: query.principal_id ?? null,
    action: query.action ?? null,
    statusClass: query.status === undefined ? null : Number(query.status[0]),
    createdAfter: time(query.created_after, '/created_after'),
    createdBefore: time(query.created_before, '/created_before'),
  }
}

/** Reads the audit log: one GPT's (its admin key or owner), or an account's own with its GPTs'. */
export class AuditService {
  constructor(
    private readonly repo: AuditRepository,
    private readonly gpts: GptsService,
    private readonly options: { defaultPageSize: number },
  ) {}

  /** `ownerAccountId`: the calling account, which must own the GPT (null: the GPT's own admin key). */
  async gptScope(gptId: string, ownerAccountId: string | null): Promise<AuditScope> {
    await this.gpts.getGpt(gptId, ownerAccountId)
    return { gptId }
  }

  async accountScope(accountId: string): Promise<AuditScope> {
    return { accountId, gptIds: await this.gpts.ownedGptIds(accountId) }
  }

  /** A page, newest first unless `order=asc`. */
  async list(scope: AuditScope, query: AuditQuery): Promise<Page<AuditView>> {
    const filters = filtersOf(query)
    const list = 'gptId' in scope ? `audit:gpt:${scope.gptId}` : `audit:account:${scope.accountId}`
    const page = pageRequest(query, list, { defaultPageSize: this.options.defaultPageSize, order: 'desc' })
    const rows = await this.repo.list(scope, filters, { ...page, after: timeIdAfter(page) })
    const result = toPage(rows, page, (row) => [row.created_at.toISOString(), row.id])
    return { ...result, items: result.items.map(toAuditView) }
  }

  /** Every matching row as NDJSON, a batch per read; the filters are checked before the first line. */
  export(scope: AuditScope, query: AuditQuery): AsyncGenerator<string> {
    const filters = filtersOf(query)
    return this.lines(scope, filters, query.order ?? 'desc')
  }

  purge(retentionDays: number): Promise<number> {
    return this.repo.purge(retentionDays)
  }

  private async *lines(scope: AuditScope, filters: AuditFilters, order: SortOrder): AsyncGenerator<string> {
    let after: [Date, string] | null = null
    for (;;) {
      const rows = await this.repo.list(scope, filters, { limit: EXPORT_BATCH - 1, order, after })
      if (rows.length === 0) return
      yield rows.map((row) => `${JSON.stringify(toAuditView(row))}\n`).join('')
      if (rows.length < EXPORT_BATCH) return
      const last = rows[rows.length - 1]!
      after = [last.created_at, last.id]
    }
  }
}
