import { ERR } from '../../platform/errors.js'
import { timeNameAfter } from '../../platform/http/seek.js'
import { pageRequest, toPage, type Page, type SortOrder } from '../../platform/http/pagination.js'
import type { GptCounts, GptRow, GptsRepository } from './gpts.repo.js'
import {
  DEFAULT_PARTS,
  GPT_ID_PATTERN,
  type ActionExposureView,
  type CreateGptInput,
  type GptView,
  type UpdateGptInput,
} from './gpts.schemas.js'

const ID_PATTERN = new RegExp(GPT_ID_PATTERN)

export function toGptView(row: GptRow): GptView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    // Only exposures checked on write are stored (see updateGpt).
    action_exposure: (row.action_exposure as ActionExposureView | null) ?? { parts: [...DEFAULT_PARTS], collections: null },
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
    private readonly hooks: {
      /** Runs after a GPT is deleted (for example to drop cached keys of it everywhere). */
      afterDelete: (gptId: string) => Promise<void>
      /** Refuses (422, naming what to drop) an exposure whose Action spec would break GPT Actions' limits. */
      checkExposure: (gpt: GptView, exposure: ActionExposureView) => Promise<void>
    },
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

  /**
   * Changes a GPT's name, description, Action exposure or retention settings; with an owner given, only a GPT of that
   * account. An exposure is checked against the GPT's collections now: a spec it would make is
   * within GPT Actions' limits, or the change is refused.
   */
  async updateGpt(gptId: string, input: UpdateGptInput, ownerAccountId: string | null = null): Promise<GptView> {
    const current = await this.getGpt(gptId, ownerAccountId)
    const { action_exposure: exposure, ...rest } = input
    if (exposure) await this.hooks.checkExposure(current, exposure)
    const change = exposure === undefined ? rest : { ...rest, action_exposure: exposure === null ? null : JSON.stringify(exposure) }
    const row = await this.repo.updateGpt(gptId, change)
    if (!row) throw ERR.notFound('GPT', gptId)
    return toGptView(row)
  }

  /** What the GPT holds (the console's overview); with an owner given, only a GPT of that account. */
  async stats(gptId: string, ownerAccountId: string | null = null): Promise<GptCounts & { gpt_id: string }> {
    await this.getGpt(gptId, ownerAccountId)
    return { gpt_id: gptId, ...(await this.repo.counts(gptId)) }
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
    await this.hooks.afterDelete(gptId)
  }
}
