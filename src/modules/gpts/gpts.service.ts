import { ERR } from '../../platform/errors.js'
import { timeNameAfter } from '../../platform/http/seek.js'
import { pageRequest, toPage, type Page, type SortOrder } from '../../platform/http/pagination.js'
import type { GptRow, GptsRepository } from './gpts.repo.js'
import { GPT_ID_PATTERN, type CreateGptInput, type GptView, type PatchGptInput } from './gpts.schemas.js'

const ID_PATTERN = new RegExp(GPT_ID_PATTERN)

export function toGptView(row: GptRow): GptView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    session_retention_days: row.session_retention_days,
    mail_retention_days: row.mail_retention_days,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  }
}

export class GptsService {
  constructor(
    private readonly repo: GptsRepository,
    private readonly limits: { defaultPageSize: number },
    /** Runs after a GPT is deleted (for example to drop cached keys of it everywhere). */
    private readonly afterDelete: (gptId: string) => Promise<void> = async () => {},
  ) {}

  /** Creates a GPT: the operator's (no owner) or an account's. */
  async createGpt(input: CreateGptInput, ownerAccountId: string | null = null): Promise<GptView> {
    if (!ID_PATTERN.test(input.id)) {
      throw ERR.validation('The GPT id is not valid.', [
        { pointer: '/id', message: 'must be 1–64 letters, digits, "_" or "-", starting with a letter or digit' },
      ])
    }
    const row = await this.repo.insertGpt({ id: input.id, name: input.name, description: input.description ?? null, owner_account_id: ownerAccountId })
    if (!row) throw ERR.conflict(`A GPT with id ${JSON.stringify(input.id)} already exists.`)
    return toGptView(row)
  }

  /** The GPT; with an owner given, only when that account owns it (another's GPT is "not found"). */
  async getGpt(gptId: string, ownerAccountId: string | null = null): Promise<GptView> {
    const row = await this.repo.findGpt(gptId)
    if (!row || (ownerAccountId !== null && row.owner_account_id !== ownerAccountId)) throw ERR.notFound('GPT', gptId)
    return toGptView(row)
  }

  /** Renames the GPT or changes its retention settings; with an owner given, only that account's GPT. */
  async updateGpt(gptId: string, change: PatchGptInput, ownerAccountId: string | null = null): Promise<GptView> {
    await this.getGpt(gptId, ownerAccountId)
    const row = await this.repo.updateGpt(gptId, change)
    if (!row) throw ERR.notFound('GPT', gptId)
    return toGptView(row)
  }

  /** GPTs that keep chat sessions or mail for a limited number of days, with those days. */
  withRetention(kind: 'sessions' | 'mail'): Promise<Array<{ id: string; days: number }>> {
    return this.repo.withRetention(kind === 'sessions' ? 'session_retention_days' : 'mail_retention_days')
  }

  /** Every GPT (the operator), or the GPTs of one account. */
  async listGpts(query: { limit?: number; cursor?: string; order?: SortOrder }, ownerAccountId: string | null = null): Promise<Page<GptView>> {
    const list = ownerAccountId === null ? 'gpts' : `gpts:${ownerAccountId}`
    const page = pageRequest(query, list, { defaultPageSize: this.limits.defaultPageSize, order: 'asc' })
    const rows = await this.repo.listGpts({ ...page, after: timeNameAfter(page) }, ownerAccountId)
    const result = toPage(rows, page, (row) => [row.created_at.toISOString(), row.id])
    return { ...result, items: result.items.map(toGptView) }
  }

  /** The ids of an account's GPTs, hidden ones included (to drop their cached keys when it is deleted). */
  ownedGptIds(accountId: string): Promise<string[]> {
    return this.repo.ownedGptIds(accountId)
  }

  /** Deletes the GPT with all its keys and data. */
  async deleteGpt(gptId: string): Promise<void> {
    if (!(await this.repo.deleteGpt(gptId))) throw ERR.notFound('GPT', gptId)
    await this.afterDelete(gptId)
  }
}
