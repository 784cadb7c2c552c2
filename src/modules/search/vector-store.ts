import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { Tables } from '../../platform/db/tables.js'

export type VectorBackend = 'pgvector' | 'exact'
export type SearchSource = 'memories' | 'objects' | 'messages'

/** The item a vector belongs to: exactly one of the embeddings table's item columns. */
export type VectorOwner = { source: SearchSource; id: string }

export const HNSW_MAX_DIMS = 2000

export const OWNER_COLUMN: Record<SearchSource, 'memory_id' | 'object_id' | 'message_id'> = {
  memories: 'memory_id',
  objects: 'object_id',
  messages: 'message_id',
}

/**
 * Stores and compares embedding vectors. With pgvector, nearest neighbours come from an HNSW index
 * (cosine) built for the configured dimension; without it, vectors are real[] and every candidate
 * of the GPT is scored exactly. Vectors are unit length, so the dot product is the cosine similarity.
 */
export class VectorStore {
  readonly dims: number

  constructor(
    private readonly db: Kysely<Tables>,
    readonly backend: VectorBackend,
    dims: number,
    readonly model: string,
    /** Score every candidate exactly even when an HNSW index exists (benchmarks compare the two). */
    private readonly forceExact = false,
  ) {
    if (!Number.isInteger(dims) || dims < 1 || dims > 16_000) throw new Error(`invalid vector dimension ${dims}`)
    this.dims = dims
  }

  /** pgvector's HNSW indexes `vector` columns of at most 2,000 dimensions; larger vectors are scanned exactly. */
  get mode(): 'hnsw' | 'exact' {
    return this.backend === 'pgvector' && !this.forceExact && this.dims <= HNSW_MAX_DIMS ? 'hnsw' : 'exact'
  }

  /** An HNSW index needs one fixed dimension: it is made for the configured one, as a partial expression index. */
  async ensureIndex(): Promise<void> {
    if (this.mode !== 'hnsw') return
    const name = `embeddings_hnsw_${this.dims}`
    await this.db.transaction().execute(async (trx) => {
      // An HNSW graph that outgrows maintenance_work_mem (64 MB by default) builds many times slower:
      // a first build over existing vectors (a new dimension) gets room for about 100k of them.
      await sql`select set_config('maintenance_work_mem', '512MB', true)`.execute(trx)
      await sql
        .raw(
          `CREATE INDEX IF NOT EXISTS ${name} ON embeddings USING hnsw ((embedding::vector(${this.dims})) vector_cosine_ops) WHERE dims = ${this.dims}`,
        )
        .execute(trx)
    })
  }

  /**
   * Stores (or replaces) the vector of one item. `version`: the item's updated_at when its text was
   * read, stored as `embedded_at` (default now()); a vector of an older version than the stored one
   * is dropped, so that of two embeddings racing, the newer text wins whichever finishes last.
   */
  async put(db: Kysely<Tables>, gptId: string, owner: VectorOwner, vector: number[], version?: Date): Promise<void> {
    this.check(vector)
    const column = OWNER_COLUMN[owner.source]
    const value = this.literal(vector)
    const embeddedAt = version === undefined ? sql`now()` : sql`${version}::timestamptz`
    await sql`
      insert into embeddings (gpt_id, ${sql.ref(column)}, model, dims, embedding, embedded_at)
      values (${gptId}, ${owner.id}, ${this.model}, ${this.dims}, ${value}, ${embeddedAt})
      on conflict (gpt_id, ${sql.ref(column)}) where ${sql.ref(column)} is not null
      do update set model = excluded.model, dims = excluded.dims, embedding = excluded.embedding, embedded_at = excluded.embedded_at
      where embeddings.embedded_at <= excluded.embedded_at or embeddings.model <> excluded.model or embeddings.dims <> excluded.dims
    `.execute(db)
  }

  /** The similarity of a stored vector (alias `e`) to `query`, as a SQL expression (higher is closer). */
  similarity(query: number[]): RawBuilder<number> {
    return sql<number>`(1 - (${this.distance(query)}))::float8`
  }

  /** The ordering expression: ascending distance. With HNSW it matches the index expression exactly. */
  distance(query: number[]): RawBuilder<number> {
    this.check(query)
    const value = this.literal(query)
    if (this.mode === 'hnsw') return sql<number>`e.embedding::vector(${sql.lit(this.dims)}) <=> ${value}::vector(${sql.lit(this.dims)})`
    if (this.backend === 'pgvector') return sql<number>`e.embedding <=> ${value}`
    return sql<number>`1 - (select sum(a * b) from unnest(e.embedding, ${value}) as t(a, b))`
  }

  /** The conditions every candidate vector must meet: this GPT, this model and dimension (literal, so the partial index applies). */
  candidates(gptId: string, source: SearchSource): RawBuilder<boolean> {
    const column = OWNER_COLUMN[source]
    return sql<boolean>`e.gpt_id = ${gptId} and e.dims = ${sql.lit(this.dims)} and e.model = ${this.model} and e.${sql.ref(column)} is not null`
  }

  /**
   * Runs a nearest-neighbour query. HNSW returns its `ef_search` closest candidates before filters
   * apply; iterative scans (pgvector ≥ 0.8) keep looking until enough rows pass the filters.
   */
  async withSearchSettings<T>(db: Kysely<Tables>, run: (trx: Kysely<Tables>) => Promise<T>): Promise<T> {
    if (this.mode !== 'hnsw') return run(db)
    return db.transaction().execute(async (trx) => {
      await sql`select set_config('hnsw.ef_search', '100', true), set_config('hnsw.iterative_scan', 'relaxed_order', true)`.execute(trx)
      return run(trx)
    })
  }

  private literal(vector: number[]): RawBuilder<unknown> {
    const text = `[${vector.map((value) => (Number.isFinite(value) ? value : 0)).join(',')}]`
    // real[] takes '{…}', vector takes '[…]'; both come from the same numbers.
    return this.backend === 'pgvector' ? sql`${text}::vector` : sql`${`{${text.slice(1, -1)}}`}::real[]`
  }

  private check(vector: number[]): void {
    if (vector.length !== this.dims) {
      throw new Error(`vector has ${vector.length} dimensions; the store holds ${this.dims} (EMBEDDINGS_DIM / model)`)
    }
  }
}
