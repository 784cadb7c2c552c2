import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { JsonValue, Tables } from '../../platform/db/tables.js'
import { EmbeddingsError } from '../../platform/embeddings/embeddings.provider.js'
import type { MemoriesRepository } from '../memories/memories.repo.js'
import type { Embedder } from './embedder.js'
import type { SearchSource } from './vector-store.js'
import { notExpired } from '../objects/objects.expiry.js'

/** An expired document is not embedded: no read can find it, and the purge job will delete it. */
const LIVE_OBJECT = sql`and ${notExpired('x')}`

/** Longest text sent to the embedder for one item; models truncate long input anyway. */
const MAX_EMBED_CHARS = 8000

export interface PendingMemory {
  gpt_id: string
  id: string
  content: string
  revision: number
}

export interface StaleOptions {
  signal?: AbortSignal
  ids?: readonly string[]
  olderThanMs?: number
}

interface StaleItem {
  gpt_id: string
  id: string
  text: string
  /** The item's updated_at as read: the version the vector is of. */
  updated_at: Date
}

/** The string values of a document, in order: what a reader would search it by. */
export function documentText(value: JsonValue, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value)
  else if (Array.isArray(value)) for (const item of value) documentText(item, out)
  else if (value !== null && typeof value === 'object') for (const item of Object.values(value)) documentText(item, out)
  return out
}

function clip(text: string): string {
  return text.length > MAX_EMBED_CHARS ? text.slice(0, MAX_EMBED_CHARS) : text
}

/**
 * Makes and stores vectors outside requests: memories a remote provider embeds, documents and chat
 * messages (always embedded in the background), and everything again after a model change.
 */
export class EmbeddingWorker {
  constructor(
    private readonly db: Kysely<Tables>,
    private readonly memories: MemoriesRepository,
    private readonly embedder: Embedder,
  ) {}

  /** The memories among `ids` still waiting for a vector (a retry after a partial success skips the rest). */
  async pendingMemories(gptId: string, ids: string[]): Promise<PendingMemory[]> {
    return (await this.memories.memoriesByIds(gptId, ids)).filter((row) => row.embedding_status === 'pending')
  }

  /**
   * Embeds the memories and marks them ready. On failure the attempt is recorded; the memories are
   * marked failed when `final` or when retrying cannot help (a 4xx, a dimension mismatch), and the
   * error is rethrown otherwise so that the job is retried with backoff.
   */
  async embedMemories(rows: PendingMemory[], final: boolean, signal?: AbortSignal): Promise<{ ready: number; failed: number }> {
    if (rows.length === 0) return { ready: 0, failed: 0 }
    let vectors: number[][]
    try {
      vectors = await this.embedder.embed(rows.map((row) => clip(row.content)), 'memories', signal, true)
    } catch (error) {
      const retryable = !(error instanceof EmbeddingsError) || error.retryable
      const giveUp = final || !retryable
      const message = error instanceof Error ? error.message : String(error)
      for (const [gptId, group] of groupBy(rows, (row) => row.gpt_id)) {
        await this.memories.recordFailure(gptId, group.map((row) => row.id), new Map(group.map((row) => [row.id, row.revision])), message, giveUp)
      }
      this.embedder.countFailures('memories', rows.length, giveUp)
      if (giveUp) return { ready: 0, failed: rows.length }
      throw error
    }
    let ready = 0
    for (const [index, row] of rows.entries()) {
      await this.db.transaction().execute(async (trx) => {
        // A newer revision has its own job: a vector of older content must not be stored.
        if (!(await this.memories.markEmbedded(trx, row.gpt_id, row.id, row.revision))) return
        await this.embedder.store.put(trx, row.gpt_id, { source: 'memories', id: row.id }, vectors[index]!)
        ready += 1
      })
    }
    return { ready, failed: 0 }
  }

  /**
   * Memories with no vector of the current model, or not ready: what the backfill (pending ones whose
   * job was lost, after `olderThanMs`) and `reindex` (failed ones too) embed.
   */
  async staleMemories(gptId: string | null, limit: number, options: { olderThanMs?: number; includeFailed: boolean }): Promise<PendingMemory[]> {
    const { rows } = await sql<PendingMemory>`
      select x.gpt_id, x.id, x.content, x.revision
      from memories x ${this.staleJoin('memory_id', gptId)}
        and x.updated_at < now() - make_interval(secs => ${(options.olderThanMs ?? 0) / 1000})
        ${options.includeFailed ? sql`` : sql`and x.embedding_status <> 'failed'`}
      order by x.updated_at, x.id
      limit ${limit}
    `.execute(this.db)
    return rows
  }

  /**
   * Embeds up to `limit` documents or messages that have no vector of the current model or changed
   * since theirs was made (only `ids`, only those unchanged for `olderThanMs`, when given); returns
   * how many it embedded (0: nothing left).
   */
  async embedStale(source: Exclude<SearchSource, 'memories'>, gptId: string | null, limit: number, options: StaleOptions = {}): Promise<number> {
    const { signal } = options
    if (options.ids?.length === 0) return 0
    const items = await this.staleItems(source, gptId, limit, options)
    if (items.length === 0) return 0
    let vectors: number[][]
    try {
      vectors = await this.embedder.embed(items.map((item) => clip(item.text)), source, signal, true)
    } catch (error) {
      this.embedder.countFailures(source, items.length, false)
      throw error
    }
    await this.db.transaction().execute(async (trx) => {
      for (const [index, item] of items.entries()) {
        // Stamped with the version read: an item changed meanwhile still looks stale, and is embedded again.
        await this.embedder.store.put(trx, item.gpt_id, { source, id: item.id }, vectors[index]!, item.updated_at)
      }
    })
    return items.length
  }

  /**
   * One step of a reindex: embeds up to `batch` items that have no vector of the current model,
   * memories first, then documents, then messages. Resumable by nature: what is done is not stale.
   */
  async reindexStep(gptId: string | null, batch: number, includeFailed: boolean): Promise<{ embedded: Record<SearchSource, number>; failed: number }> {
    const embedded = { memories: 0, objects: 0, messages: 0 }
    const rows = await this.staleMemories(gptId, batch, { includeFailed })
    if (rows.length > 0) {
      const result = await this.embedMemories(rows, false)
      return { embedded: { ...embedded, memories: result.ready }, failed: result.failed }
    }
    for (const source of ['objects', 'messages'] as const) {
      embedded[source] = await this.embedStale(source, gptId, batch)
      if (embedded[source] > 0) break
    }
    return { embedded, failed: 0 }
  }

  /** How many items of each source still need a vector of the current model. */
  async countStale(gptId: string | null, includeFailed = true): Promise<Record<SearchSource, number>> {
    const count = async (from: string, column: string, extra: RawBuilder<unknown>) => {
      const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.raw(from)} x ${this.staleJoin(column, gptId)} ${extra}`.execute(this.db)
      return Number(rows[0]?.n ?? 0)
    }
    return {
      memories: await count('memories', 'memory_id', includeFailed ? sql`` : sql`and x.embedding_status <> 'failed'`),
      objects: await count('objects', 'object_id', LIVE_OBJECT),
      messages: await count('chat_messages', 'message_id', MESSAGE_READY),
    }
  }

  /**
   * Joins each item (alias `x`) to its vector and keeps those with none of the current model, or one
   * older than the item's last change (a memory counts by its status, which its revision guards).
   */
  private staleJoin(column: string, gptId: string | null): RawBuilder<unknown> {
    const { store } = this.embedder
    const changed = column === 'memory_id' ? sql`x.embedding_status <> 'ready'` : sql`e.embedded_at < x.updated_at`
    return sql`left join embeddings e on e.gpt_id = x.gpt_id and ${sql.ref(`e.${column}`)} = x.id
      where (e.id is null or e.model <> ${store.model} or e.dims <> ${store.dims} or ${changed})
      ${gptId === null ? sql`` : sql`and x.gpt_id = ${gptId}`}`
  }

  private async staleItems(source: Exclude<SearchSource, 'memories'>, gptId: string | null, limit: number, options: StaleOptions): Promise<StaleItem[]> {
    const { ids, olderThanMs } = options
    const only = sql`${ids ? sql`and x.id in (${sql.join(ids)})` : sql``}
      ${olderThanMs ? sql`and x.updated_at < now() - make_interval(secs => ${olderThanMs / 1000})` : sql``}`
    if (source === 'objects') {
      const { rows } = await sql<Omit<StaleItem, 'text'> & { body: JsonValue }>`
        select x.gpt_id, x.id, x.body, x.updated_at from objects x ${this.staleJoin('object_id', gptId)} ${LIVE_OBJECT} ${only}
        order by x.updated_at, x.id limit ${limit}
      `.execute(this.db)
      return rows.map(({ body, ...row }) => ({ ...row, text: documentText(body).join('\n') }))
    }
    const { rows } = await sql<StaleItem>`
      select x.gpt_id, x.id, x.content as text, x.updated_at from chat_messages x ${this.staleJoin('message_id', gptId)} ${MESSAGE_READY} ${only}
      order by x.updated_at, x.id limit ${limit}
    `.execute(this.db)
    return rows
  }
}

/** Only finished messages with text are searched, so only those are embedded. */
const MESSAGE_READY = sql`and x.status = 'complete' and x.content <> ''`

function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const key = keyOf(item)
    groups.set(key, [...(groups.get(key) ?? []), item])
  }
  return groups
}
