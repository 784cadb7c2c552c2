import type { Kysely } from 'kysely'
import { uuidv7 } from 'uuidv7'
import type { JsonObject, MemorySource, Tables } from '../../platform/db/tables.js'
import { ERR } from '../../platform/errors.js'
import { ownUser } from '../../platform/auth/principal.js'
import { pageRequest, toPage, type Page } from '../../platform/http/pagination.js'
import { timeIdAfter } from '../../platform/http/seek.js'
import { parseWhereParam } from '../../platform/http/where-param.js'
import type { Embedder } from '../search/embedder.js'
import { nearDuplicate } from './memories.dedup.js'
import type { MemoryActor, MemoryHistoryRepository } from './memories.history.repo.js'
import { sourceOf, timesOf, toMemoryView } from './memories.inputs.js'
import type { ChangedRow, MemoriesRepository, MemoryRow } from './memories.repo.js'
import type { ListMemoriesQuery, MemoryHistoryView, MemoryInput, MemoryView, PatchMemoryInput } from './memories.schemas.js'

// Ids per queued job: what a batch write of memories queues at most.
const EMBED_LATER_BATCH = 100

export { toMemoryView } from './memories.inputs.js'

/** Where a write's vectors come from: made in the request (local model), or by a background job. */
export type WriteOutcome = 'created' | 'replaced' | 'accepted'

/** Hands memories whose vectors are to be made later to the background job. */
export interface MemoryEmbedQueue {
  enqueue(gptId: string, ids: string[]): Promise<void>
}

/** The caller of a change: the end user it is confined to (null: the whole GPT), and who it is for the history. */
export interface MemoryCaller {
  user: string | null
  actor: MemoryActor
}

/** A change made by the service itself, for callers with no principal (the CLI, tests). */
export const OPERATOR: MemoryCaller = { user: null, actor: { kind: 'admin', id: null } }

export interface MemoryLimits {
  defaultPageSize: number
  /** Cosine similarity from which a write updates a live memory of the same scope instead of adding one. */
  dedupSimilarity: number
}

function entityPointer(input: MemoryInput): string | null {
  return input.entity_type && input.entity_id ? `${input.entity_type}\u0000${input.entity_id}` : null
}

interface Written {
  row: MemoryRow
  inserted: boolean
  deduplicated: boolean
}

export class MemoriesService {
  constructor(
    private readonly db: Kysely<Tables>,
    private readonly repo: MemoriesRepository,
    private readonly history: MemoryHistoryRepository,
    private readonly embedder: Embedder,
    private readonly queue: () => MemoryEmbedQueue | null,
    private readonly limits: MemoryLimits,
    private readonly log: { warn(object: object, message: string): void },
  ) {}

  /** Creates a memory, or replaces the content of the memory with the same entity (upsert) or a near-identical one (dedup). */
  async writeMemory(gptId: string, input: MemoryInput, caller: MemoryCaller = OPERATOR): Promise<{ memory: MemoryView; outcome: WriteOutcome }> {
    const { memories, inserted } = await this.write(gptId, [input], caller)
    // 202 only when a vector is being made in the background: a same-content upsert of a ready memory is a 200.
    const outcome = memories[0]!.embedding_status === 'pending' ? 'accepted' : inserted[0] ? 'created' : 'replaced'
    return { memory: memories[0]!, outcome }
  }

  /** Up to MAX_BATCH memories in one transaction: all are stored, or none. */
  async writeBatch(gptId: string, inputs: MemoryInput[], caller: MemoryCaller = OPERATOR): Promise<{ memories: MemoryView[]; created: number; updated: number; accepted: boolean }> {
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
    const { memories, inserted } = await this.write(gptId, inputs, caller)
    const created = inserted.filter(Boolean).length
    return { memories, created, updated: inputs.length - created, accepted: memories.some((memory) => memory.embedding_status === 'pending') }
  }

  /**
   * An end user's memories are theirs: naming another user_id (or none, null) is a 403, and an entity
   * upsert never takes over another user's memory (409).
   */
  private async write(gptId: string, inputs: MemoryInput[], caller: MemoryCaller): Promise<{ memories: MemoryView[]; inserted: boolean[] }> {
    const { user } = caller
    const at = (index: number) => (inputs.length > 1 ? `/memories/${index}` : '')
    const owners = inputs.map((input, index) => (user === null ? (input.user_id ?? null) : ownMemoryUser(user, input.user_id, `${at(index)}/user_id`)))
    const times = inputs.map((input, index) => timesOf(input, at(index)))
    const sources: MemorySource[] = []
    for (const [index, input] of inputs.entries()) sources.push(await sourceOf(this.db, gptId, input.source, user, at(index)))
    // A remote provider embeds in the background, except when a write needs its vector now to find its twin.
    const vectors = this.embedder.inline || inputs.some(deduplicates) ? await this.embedInline(inputs.map((input) => input.content)) : null
    const status = vectors ? 'ready' : 'pending'
    const results = await this.db.transaction().execute(async (trx) => {
      const out: Written[] = []
      for (const [index, input] of inputs.entries()) {
        const fields = { ...times[index]!, source: sources[index]!, ...(input.pinned !== undefined ? { pinned: input.pinned } : {}), ...(input.importance !== undefined ? { importance: input.importance } : {}) }
        const vector = vectors?.[index]
        const twin = vector && deduplicates(input)
          ? await nearDuplicate(trx, this.embedder.store, gptId, { userId: owners[index]!, entityType: input.entity_type ?? null }, vector, this.limits.dedupSimilarity)
          : null
        let written: Written
        if (twin && vector) {
          const before = (await this.repo.findMemory(gptId, twin.id, trx, true))!
          const updated = await this.repo.updateMemory(trx, gptId, twin.id, { content: input.content, metadata: (input.metadata ?? {}) as JsonObject, embedding_status: 'ready', ...fields })
          if (updated === null || updated === 'taken') throw ERR.conflict('The memory this write duplicates changed meanwhile; try again.')
          await this.history.record(trx, [{ gpt_id: gptId, memory_id: twin.id, user_id: updated.user_id, action: 'update', old: before.old, new: updated.new, actor: caller.actor }])
          if (before.content !== input.content) await this.embedder.store.put(trx, gptId, { source: 'memories', id: twin.id }, vector)
          written = { row: updated, inserted: false, deduplicated: true }
        } else {
          const upserted = await this.repo.upsertMemory(trx, {
            gpt_id: gptId,
            id: uuidv7(),
            content: input.content,
            entity_type: input.entity_type ?? null,
            entity_id: input.entity_id ?? null,
            user_id: owners[index]!,
            metadata: (input.metadata ?? {}) as JsonObject,
            embedding_status: status,
            expires_at: fields.expires_at ?? null,
            source: fields.source,
            valid_from: fields.valid_from ?? null,
            valid_to: fields.valid_to ?? null,
            pinned: input.pinned ?? false,
            importance: input.importance ?? 0.5,
          }, user !== null)
          if (!upserted) throw ERR.conflict('Another memory of this GPT already has this entity (entity_type and entity_id).')
          const { row, inserted, changed } = upserted
          await this.record(trx, gptId, row, inserted ? 'create' : 'update', caller)
          if (vector && changed) await this.embedder.store.put(trx, gptId, { source: 'memories', id: row.id }, vector)
          written = { row, inserted, deduplicated: false }
        }
        if (input.supersedes !== undefined) await this.supersede(trx, gptId, input.supersedes, written.row.id, caller, `${at(index)}/supersedes`)
        out.push(written)
      }
      return out
    })
    const pending = results.filter((result) => result.row.embedding_status === 'pending').map((result) => result.row.id)
    await this.schedule(gptId, pending)
    // Rows were returned before their vector was written in the same transaction: read the model back.
    return {
      memories: results.map(({ row, deduplicated }) => ({
        ...toMemoryView(vectors && row.embedding_status === 'ready' ? { ...row, embedding_model: this.embedder.model } : row),
        // Said only when it happened, so that a plain write answers the memory exactly as GET does.
        ...(deduplicated ? { deduplicated: true } : {}),
      })),
      inserted: results.map((result) => result.inserted),
    }
  }

  private async record(trx: Kysely<Tables>, gptId: string, row: ChangedRow, action: 'create' | 'update', caller: MemoryCaller): Promise<void> {
    await this.history.record(trx, [{ gpt_id: gptId, memory_id: row.id, user_id: row.user_id, action, old: row.old, new: row.new, actor: caller.actor }])
  }

  /** The superseded memory stops being valid now, names its successor, and stays (in lists by as_of, and in history). */
  private async supersede(trx: Kysely<Tables>, gptId: string, id: string, by: string, caller: MemoryCaller, pointer: string): Promise<void> {
    const old = await this.repo.findMemory(gptId, id, trx, true)
    if (!old || (caller.user !== null && old.user_id !== caller.user)) throw ERR.validation(`No memory ${id} to supersede.`, [{ pointer, location: 'body', message: 'not found' }])
    if (id === by) throw ERR.validation('A memory cannot supersede itself.', [{ pointer, location: 'body', message: 'the same memory' }])
    if (old.superseded_by !== null) throw ERR.conflict(`Memory ${id} is already superseded by ${old.superseded_by}.`)
    const changed = (await this.repo.supersede(trx, gptId, id, by))!
    await this.history.record(trx, [{ gpt_id: gptId, memory_id: id, user_id: changed.user_id, action: 'supersede', old: changed.old, new: changed.new, actor: caller.actor }])
  }

  /** An embedding that fails in the request leaves the memories pending for the background job, rather than failing the write. */
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
    const { old: _old, ...memory } = row
    return toMemoryView(memory)
  }

  async updateMemory(gptId: string, id: string, input: PatchMemoryInput, caller: MemoryCaller = OPERATOR): Promise<{ memory: MemoryView; accepted: boolean }> {
    const { user } = caller
    // A memory's owner changes only by this route, which an end user cannot point elsewhere.
    if (user !== null && input.user_id !== undefined) ownMemoryUser(user, input.user_id, '/user_id')
    const times = timesOf(input, '')
    const vector = input.content !== undefined && this.embedder.inline ? await this.embedInline([input.content]) : null
    const { ttl_seconds: _ttl, expires_at: _expires, valid_from: _from, valid_to: _to, ...plain } = input
    const row = await this.db.transaction().execute(async (trx) => {
      const before = await this.repo.findMemory(gptId, id, trx, true)
      if (!before || (user !== null && before.user_id !== user)) throw ERR.notFound('Memory', id)
      const validFrom = times.valid_from ?? before.valid_from
      const validTo = times.valid_to === undefined ? before.valid_to : times.valid_to
      if (validTo !== null && validTo < validFrom) throw ERR.validation('valid_to must not be before valid_from.', [{ pointer: '/valid_to', location: 'body', message: 'before valid_from' }])
      const updated = await this.repo.updateMemory(trx, gptId, id, { ...plain, ...times, metadata: input.metadata as JsonObject | undefined, embedding_status: vector ? 'ready' : 'pending' })
      if (updated === 'taken') {
        // Only the fields the PATCH sets are known here (the other one is the stored value).
        const entity = (['entity_type', 'entity_id'] as const)
          .filter((field) => input[field] !== undefined)
          .map((field) => `${field} ${JSON.stringify(input[field])}`)
          .join(' and ')
        throw ERR.conflict(`Another memory of this GPT already has this entity (${entity}).`)
      }
      if (!updated) throw ERR.notFound('Memory', id)
      await this.history.record(trx, [{ gpt_id: gptId, memory_id: id, user_id: updated.user_id, action: 'update', old: before.old, new: updated.new, actor: caller.actor }])
      if (vector && input.content !== undefined && before.content !== input.content) await this.embedder.store.put(trx, gptId, { source: 'memories', id }, vector[0]!)
      return updated
    })
    if (row.embedding_status === 'pending') await this.schedule(gptId, [id])
    const model = vector && row.embedding_status === 'ready' ? this.embedder.model : row.embedding_model
    const { new: _new, ...memory } = row
    return { memory: toMemoryView({ ...memory, embedding_model: model }), accepted: row.embedding_status === 'pending' }
  }

  /**
   * Forgets a memory: its history keeps a tombstone (who, when) but no content; `purge` removes the
   * history too. A memory that expired (hidden, or already purged by the job) is gone for reads, but
   * its history still holds what it said: deleting it reaches that history.
   */
  async deleteMemory(gptId: string, id: string, caller: MemoryCaller = OPERATOR, purge = false): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const found = await this.repo.findMemory(gptId, id, trx, true)
      // Without a live memory, only a history not already ended by a delete is there to forget (or any, to purge).
      const entries = found ? [] : await this.history.list(gptId, id, caller.user, trx)
      const forgettable = entries.length > 0 && (purge || entries.at(-1)!.action !== 'delete')
      if (found ? caller.user !== null && found.user_id !== caller.user : !forgettable) throw ERR.notFound('Memory', id)
      const gone = await this.repo.deleteMemory(trx, gptId, id)
      if (purge) return this.history.purge(trx, gptId, id)
      await this.history.forget(trx, gptId, id)
      if (found || gone) await this.history.record(trx, [{ gpt_id: gptId, memory_id: id, user_id: found?.user_id ?? gone?.user_id ?? null, action: 'delete', old: null, new: null, actor: caller.actor }])
    })
  }

  /** Every change of a memory, oldest first, also after it was deleted (404 once purged, or for another end user's). */
  async memoryHistory(gptId: string, id: string, user: string | null = null): Promise<MemoryHistoryView> {
    const rows = await this.history.list(gptId, id, user)
    if (rows.length === 0) throw ERR.notFound('Memory', id)
    return {
      memory_id: id,
      history: rows.map((row) => ({ action: row.action, old: row.old, new: row.new, actor: { kind: row.actor_kind, id: row.actor_id }, at: row.at.toISOString() })),
    }
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
      { entityType: query.entity_type, entityId: query.entity_id, userId, embeddingStatus: query.embedding_status, where, ...(query.as_of ? { asOf: new Date(query.as_of) } : {}) },
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

/** Entity writes are upserts already, and a write that supersedes another is a new version by the caller's word. */
const deduplicates = (input: MemoryInput) => input.dedup !== false && input.supersedes === undefined && entityPointer(input) === null
