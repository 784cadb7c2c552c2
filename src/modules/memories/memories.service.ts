import type { Kysely } from 'kysely'
import { uuidv7 } from 'uuidv7'
import type { JsonObject, Tables } from '../../platform/db/tables.js'
import { ERR } from '../../platform/errors.js'
import { ownUser } from '../../platform/auth/principal.js'
import { pageRequest, toPage, type Page } from '../../platform/http/pagination.js'
import { timeIdAfter } from '../../platform/http/seek.js'
import { parseWhereParam } from '../../platform/http/where-param.js'
import type { Embedder } from '../search/embedder.js'
import type { MemoriesRepository, MemoryRow } from './memories.repo.js'
import type { ListMemoriesQuery, MemoryInput, MemoryView, PatchMemoryInput } from './memories.schemas.js'

// Ids per queued job: what a batch write of memories queues at most.
const EMBED_LATER_BATCH = 100

export function toMemoryView(row: MemoryRow): MemoryView {
  return {
    id: row.id,
    gpt_id: row.gpt_id,
    content: row.content,
    entity_type: row.entity_type,
    entity_id: row.entity_id,
    user_id: row.user_id,
    metadata: row.metadata,
    embedding_status: row.embedding_status,
    embedding_error: row.embedding_error,
    embedding_model: row.embedding_model,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  }
}

/** Where a write's vectors come from: made in the request (local model), or by a background job. */
export type WriteOutcome = 'created' | 'replaced' | 'accepted'

/** Hands memories whose vectors are to be made later to the background job. */
export interface MemoryEmbedQueue {
  enqueue(gptId: string, ids: string[]): Promise<void>
}

function entityPointer(input: MemoryInput): string | null {
  return input.entity_type && input.entity_id ? `${input.entity_type}\u0000${input.entity_id}` : null
}

export class MemoriesService {
  constructor(
    private readonly db: Kysely<Tables>,
    private readonly repo: MemoriesRepository,
    private readonly embedder: Embedder,
    private readonly queue: () => MemoryEmbedQueue | null,
    private readonly limits: { defaultPageSize: number },
    private readonly log: { warn(object: object, message: string): void },
  ) {}

  /** Creates a memory, or replaces the content of the memory with the same entity (upsert). */
  async writeMemory(gptId: string, input: MemoryInput, user: string | null = null): Promise<{ memory: MemoryView; outcome: WriteOutcome }> {
    const { memories, inserted } = await this.write(gptId, [input], user)
    // 202 only when a vector is being made in the background: a same-content upsert of a ready memory is a 200.
    const outcome = memories[0]!.embedding_status === 'pending' ? 'accepted' : inserted[0] ? 'created' : 'replaced'
    return { memory: memories[0]!, outcome }
  }

  /** Up to MAX_BATCH memories in one transaction: all are stored, or none. */
  async writeBatch(gptId: string, inputs: MemoryInput[], user: string | null = null): Promise<{ memories: MemoryView[]; created: number; updated: number; accepted: boolean }> {
    const seen = new Map<string, number>()
    inputs.forEach((input, index) => {
      const key = entityPointer(input)
      if (key === null) return
      const first = seen.get(key)
      if (first !== undefined) {
        throw ERR.validation('Two memories of the batch name the same entity.', [
          { pointer: `/memories/${index}/entity_id`, location: 'body', message: `same entity_type and entity_id as /memories/${first}` },
        ])
      }
      seen.set(key, index)
    })
    const { memories, inserted } = await this.write(gptId, inputs, user)
    const created = inserted.filter(Boolean).length
    return { memories, created, updated: inputs.length - created, accepted: memories.some((memory) => memory.embedding_status === 'pending') }
  }

  /**
   * `user`: the end user the caller is confined to (null: the whole GPT). An end user's memories are
   * theirs: naming another user_id (or none, null) is a 403, and an entity upsert never takes over
   * another user's memory (409).
   */
  private async write(gptId: string, inputs: MemoryInput[], user: string | null): Promise<{ memories: MemoryView[]; inserted: boolean[] }> {
    const owners = inputs.map((input, index) => (user === null ? (input.user_id ?? null) : ownMemoryUser(user, input.user_id, inputs.length > 1 ? `/memories/${index}/user_id` : '/user_id')))
    const vectors = this.embedder.inline ? await this.embedInline(inputs.map((input) => input.content)) : null
    const status = vectors ? 'ready' : 'pending'
    const results = await this.db.transaction().execute(async (trx) => {
      const out: { row: MemoryRow; inserted: boolean }[] = []
      for (const [index, input] of inputs.entries()) {
        const upserted = await this.repo.upsertMemory(trx, {
          gpt_id: gptId,
          id: uuidv7(),
          content: input.content,
          entity_type: input.entity_type ?? null,
          entity_id: input.entity_id ?? null,
          user_id: owners[index]!,
          metadata: (input.metadata ?? {}) as JsonObject,
          embedding_status: status,
        }, user !== null)
        if (!upserted) throw ERR.conflict('Another memory of this GPT already has this entity (entity_type and entity_id).')
        const { row, inserted, changed } = upserted
        if (vectors && changed) await this.embedder.store.put(trx, gptId, { source: 'memories', id: row.id }, vectors[index]!)
        out.push({ row, inserted })
      }
      return out
    })
    const pending = results.filter((result) => result.row.embedding_status === 'pending').map((result) => result.row.id)
    await this.schedule(gptId, pending)
    // Rows were returned before their vector was written in the same transaction: read the model back.
    return {
      memories: results.map(({ row }) => toMemoryView(vectors && row.embedding_status === 'ready' ? { ...row, embedding_model: this.embedder.model } : row)),
      inserted: results.map((result) => result.inserted),
    }
  }

  /** A local model that fails leaves the memories pending for the background job, rather than failing the write. */
  private async embedInline(texts: string[]): Promise<number[][] | null> {
    try {
      return await this.embedder.embed(texts, 'memories')
    } catch (error) {
      this.embedder.countFailures('memories', texts.length, false)
      this.log.warn({ err: error }, 'embedding in the request failed; the memories wait for the background job')
      return null
    }
  }

  /** Hands memories written elsewhere (an archive import) to the embedding job, as a write of them would. */
  async embedLater(gptId: string, ids: string[]): Promise<void> {
    for (let start = 0; start < ids.length; start += EMBED_LATER_BATCH) await this.schedule(gptId, ids.slice(start, start + EMBED_LATER_BATCH))
  }

  private async schedule(gptId: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return
    const queue = this.queue()
    if (!queue) return
    try {
      await queue.enqueue(gptId, ids)
    } catch (error) {
      // The periodic backfill picks up pending memories whose job could not be queued.
      this.log.warn({ err: error }, 'could not queue memories for embedding; the backfill will')
    }
  }

  async getMemory(gptId: string, id: string, user: string | null = null): Promise<MemoryView> {
    const row = await this.repo.findMemory(gptId, id)
    if (!row || (user !== null && row.user_id !== user)) throw ERR.notFound('Memory', id)
    return toMemoryView(row)
  }

  async updateMemory(gptId: string, id: string, input: PatchMemoryInput, user: string | null = null): Promise<{ memory: MemoryView; accepted: boolean }> {
    if (user !== null) {
      // A memory's owner changes only by this route, which an end user cannot point elsewhere.
      await this.getMemory(gptId, id, user)
      if (input.user_id !== undefined) ownMemoryUser(user, input.user_id, '/user_id')
    }
    const vector = input.content !== undefined && this.embedder.inline ? await this.embedInline([input.content]) : null
    const row = await this.db.transaction().execute(async (trx) => {
      const updated = await this.repo.updateMemory(trx, gptId, id, {
        ...input,
        metadata: input.metadata as JsonObject | undefined,
        embedding_status: vector ? 'ready' : 'pending',
      })
      if (updated === 'taken') {
        // Only the fields the PATCH sets are known here (the other one is the stored value).
        const entity = (['entity_type', 'entity_id'] as const)
          .filter((field) => input[field] !== undefined)
          .map((field) => `${field} ${JSON.stringify(input[field])}`)
          .join(' and ')
        throw ERR.conflict(`Another memory of this GPT already has this entity (${entity}).`)
      }
      if (updated && vector && input.content !== undefined) await this.embedder.store.put(trx, gptId, { source: 'memories', id }, vector[0]!)
      return updated
    })
    if (!row) throw ERR.notFound('Memory', id)
    if (row.embedding_status === 'pending') await this.schedule(gptId, [id])
    const model = vector && row.embedding_status === 'ready' ? this.embedder.model : row.embedding_model
    return { memory: toMemoryView({ ...row, embedding_model: model }), accepted: row.embedding_status === 'pending' }
  }

  async deleteMemory(gptId: string, id: string, user: string | null = null): Promise<void> {
    if (user !== null) await this.getMemory(gptId, id, user)
    if (!(await this.repo.deleteMemory(gptId, id))) throw ERR.notFound('Memory', id)
  }

  async listMemories(gptId: string, query: ListMemoriesQuery, user: string | null = null): Promise<Page<MemoryView>> {
    const userId = ownUser(user, query.user_id, 'user_id', 'query')
    const where = parseWhereParam(query.where)
    const page = pageRequest(query, `memories:${gptId}`, {
      defaultPageSize: this.limits.defaultPageSize,
      order: 'asc',
    })
    const rows = await this.repo.listMemories(
      gptId,
      { entityType: query.entity_type, entityId: query.entity_id, userId, embeddingStatus: query.embedding_status, where },
      { ...page, after: timeIdAfter(page) },
    )
    const result = toPage(rows, page, (row) => [row.created_at.toISOString(), row.id])
    return { ...result, items: result.items.map(toMemoryView) }
  }
}

/** An end user's memory is theirs: a user_id naming anyone else (or null, the whole GPT) is refused. */
function ownMemoryUser(user: string, named: string | null | undefined, pointer: string): string {
  if (named === null) throw ERR.forbidden(`An end user's token cannot write a memory without an owner (body ${pointer} is null).`)
  return ownUser(user, named, pointer, 'body')!
}
