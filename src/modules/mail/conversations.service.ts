import { uuidv7 } from 'uuidv7'
import type { JsonObject } from '../../platform/db/tables.js'
import { ERR } from '../../platform/errors.js'
import { pageRequest, toPage, type Page, type SortOrder } from '../../platform/http/pagination.js'
import { timeIdAfter } from '../../platform/http/seek.js'
import { parseWhereParam } from '../../platform/http/where-param.js'
import type { ConversationRow, ConversationsRepository } from './conversations.repo.js'
import { partyOf, type KeyPrincipal } from './mail.party.js'
import type { ConversationView, CreateConversationInput, PatchConversationInput } from './conversations.schemas.js'

export function toConversationView(row: ConversationRow): ConversationView {
  return {
    id: row.id,
    gpt_id: row.gpt_id,
    title: row.title,
    description: row.description,
    archived: row.archived,
    metadata: row.metadata,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  }
}

export interface ListConversationsQuery {
  limit?: number
  cursor?: string
  order?: SortOrder
  archived?: boolean
  where?: string
}

export class ConversationsService {
  constructor(
    private readonly repo: ConversationsRepository,
    private readonly limits: { defaultPageSize: number },
  ) {}

  async createConversation(gptId: string, input: CreateConversationInput): Promise<ConversationView> {
    const row = await this.repo.insertConversation({
      gpt_id: gptId,
      id: uuidv7(),
      title: input.title,
      description: input.description ?? null,
      archived: input.archived ?? false,
      metadata: (input.metadata ?? {}) as JsonObject,
    })
    return toConversationView(row)
  }

  async getConversation(gptId: string, id: string): Promise<ConversationView> {
    const row = await this.repo.findConversation(gptId, id)
    if (!row) throw ERR.notFound('Conversation', id)
    return toConversationView(row)
  }

  async conversationExists(gptId: string, id: string): Promise<boolean> {
    return (await this.repo.findConversation(gptId, id)) !== null
  }

  async updateConversation(gptId: string, id: string, input: PatchConversationInput): Promise<ConversationView> {
    const row = await this.repo.updateConversation(gptId, id, { ...input, metadata: input.metadata as JsonObject | undefined })
    if (!row) throw ERR.notFound('Conversation', id)
    return toConversationView(row)
  }

  /** Newest first; an agent key lists only the conversations holding mail it may see. */
  async listConversations(principal: KeyPrincipal, query: ListConversationsQuery): Promise<Page<ConversationView>> {
    const gptId = principal.gptId
    const where = parseWhereParam(query.where)
    const page = pageRequest(query, `conversations:${gptId}`, { defaultPageSize: this.limits.defaultPageSize, order: 'desc' })
    const filters = { archived: query.archived ?? null, where, party: partyOf(principal) }
    const rows = await this.repo.listConversations(gptId, filters, { ...page, after: timeIdAfter(page) })
    const result = toPage(rows, page, (row) => [row.created_at.toISOString(), row.id])
    return { ...result, items: result.items.map(toConversationView) }
  }

  /** Deletes the conversation and the mail in it. */
  async deleteConversation(gptId: string, id: string): Promise<void> {
    if (!(await this.repo.deleteConversation(gptId, id))) throw ERR.notFound('Conversation', id)
  }
}
