import { uuidv7 } from 'uuidv7'
import type { JsonObject } from '../../platform/db/tables.js'
import { ERR } from '../../platform/errors.js'
import { pageRequest, toPage, type Page, type SortOrder } from '../../platform/http/pagination.js'
import { timeIdAfter } from '../../platform/http/seek.js'
import type { AgentRow, AgentsRepository } from './agents.repo.js'
import type { AgentView, CreateAgentInput, PatchAgentInput } from './agents.schemas.js'

export function toAgentView(row: AgentRow): AgentView {
  return {
    id: row.id,
    gpt_id: row.gpt_id,
    name: row.name,
    address: row.address,
    port: row.port,
    metadata: row.metadata,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  }
}

export class AgentsService {
  constructor(
    private readonly repo: AgentsRepository,
    private readonly limits: { defaultPageSize: number },
    /** Runs after an agent is deleted (its bound keys went with it: no process may keep them cached). */
    private readonly afterDelete: (gptId: string, agentId: string) => Promise<void> = async () => {},
  ) {}

  async createAgent(gptId: string, input: CreateAgentInput): Promise<AgentView> {
    const row = await this.repo.insertAgent({
      gpt_id: gptId,
      id: uuidv7(),
      name: input.name,
      address: input.address ?? null,
      port: input.port ?? null,
      metadata: (input.metadata ?? {}) as JsonObject,
    })
    if (!row) throw ERR.conflict(`An agent named ${JSON.stringify(input.name)} already exists in this GPT.`)
    return toAgentView(row)
  }

  async getAgent(gptId: string, id: string): Promise<AgentView> {
    const row = await this.repo.findAgent(gptId, id)
    if (!row) throw ERR.notFound('Agent', id)
    return toAgentView(row)
  }

  /** The ids of `ids` that are not agents of the GPT (for callers that must name bad references). */
  async missingAgents(gptId: string, ids: string[]): Promise<string[]> {
    const existing = await this.repo.existingAgentIds(gptId, [...new Set(ids)])
    return ids.filter((id) => !existing.has(id))
  }

  async updateAgent(gptId: string, id: string, input: PatchAgentInput): Promise<AgentView> {
    const row = await this.repo.updateAgent(gptId, id, { ...input, metadata: input.metadata as JsonObject | undefined })
    if (row === 'taken') throw ERR.conflict(`An agent named ${JSON.stringify(input.name)} already exists in this GPT.`)
    if (!row) throw ERR.notFound('Agent', id)
    return toAgentView(row)
  }

  async listAgents(gptId: string, query: { limit?: number; cursor?: string; order?: SortOrder }): Promise<Page<AgentView>> {
    const page = pageRequest(query, `agents:${gptId}`, { defaultPageSize: this.limits.defaultPageSize, order: 'asc' })
    const rows = await this.repo.listAgents(gptId, { ...page, after: timeIdAfter(page) })
    const result = toPage(rows, page, (row) => [row.created_at.toISOString(), row.id])
    return { ...result, items: result.items.map(toAgentView) }
  }

  /** Deletes the agent with the mail it sent, its inbox rows and the keys bound to it. */
  async deleteAgent(gptId: string, id: string): Promise<void> {
    if (!(await this.repo.deleteAgent(gptId, id))) throw ERR.notFound('Agent', id)
    await this.afterDelete(gptId, id)
  }
}
