import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { Tables } from '../../platform/db/tables.js'

export type VectorBackend = 'pgvector' | 'exact'
export type SearchSource = 'memories' | 'objects' | 'messages'

/** The item a vector belongs to: exactly one of the embeddings table's item columns. */
export type VectorOwner = { source: SearchSource; id: string }

export const HNSW_MAX_DIMS = 2000

/** pgvector's own defaults (m, ef_construction) and this service's ef_search. */
export const HNSW_DEFAULTS: HnswSettings = { m: 16, efConstruction: 64, efSearch: 100 }

export interface HnswSettings {
  m: number
  efConstruction: number
  efSearch: number
}

export interface VectorStoreOptions {
  /** Score every candidate exactly even when an HNSW index exists (benchmarks compare the two). */
  forceExact?: boolean
  hnsw?: HnswSettings
  /** PostgreSQL: build the index CONCURRENTLY, so that writes go on meanwhile. */
  concurrentBuild?: boolean
}

/** What answers nearest-neighbour queries now: an exact scan, the HNSW index, or an exact scan while the index builds. */
export type SearchBackendState = 'exact' | 'building' | 'hnsw'

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
  private readonly hnsw: HnswSettings
  private indexLive = false
  private building: Promise<void> | null = null

  constructor(
    private readonly db: Kysely<Tables>,
    readonly backend: VectorBackend,
    dims: number,
    readonly model: string,
    private readonly options: VectorStoreOptions = {},
  ) {
    if (!Number.isInteger(dims) || dims < 1 || dims > 16_000) throw new Error(`invalid vector dimension ${dims}`)
    this.dims = dims
    this.hnsw = options.hnsw ?? HNSW_DEFAULTS
  }

  /** pgvector's HNSW indexes `vector` columns of at most 2,000 dimensions; larger vectors are always scanned exactly. */
  get indexable(): boolean {
    return this.backend === 'pgvector' && !this.options.forceExact && this.dims <= HNSW_MAX_DIMS
  }

  /** How queries run now: through the index once it is built, exactly before. */
  get mode(): 'hnsw' | 'exact' {
    return this.indexable && this.indexLive ? 'hnsw' : 'exact'
  }

  get state(): SearchBackendState {
    return this.mode === 'hnsw' ? 'hnsw' : this.building ? 'building' : 'exact'
  }

  private get indexName(): string {
    return `embeddings_hnsw_${this.dims}`
  }

  /** Builds the index if it is missing, and waits for it. */
  async ensureIndex(): Promise<void> {
    if (!this.indexable) return
    this.building ??= this.build().finally(() => (this.building = null))
    await this.building
  }

  /**
   * Uses the index if it is there; else builds it in the background while exact scans serve, so that
   * a start never waits for a build (minutes over a large table). A failed build is reported to
   * `onError` and searches stay exact; the next start tries again.
   */
  async startIndex(onError: (error: unknown) => void): Promise<void> {
    if (!this.indexable || this.building) return
    if ((await this.indexValidity()) === true) {
      this.indexLive = true
      return
    }
    this.ensureIndex().catch(onError)
  }

  /** true: usable; false: left invalid by an interrupted concurrent build; null: absent. */
  private async indexValidity(db: Kysely<Tables> = this.db): Promise<boolean | null> {
    const { rows } = await sql<{ valid: boolean }>`
      select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname = ${this.indexName}
    `.execute(db)
    return rows[0]?.valid ?? null
  }

  /** An HNSW index needs one fixed dimension: it is made for the configured one, as a partial expression index. */
  private async build(): Promise<void> {
    const concurrently = this.options.concurrentBuild ? 'CONCURRENTLY ' : ''
    // One session: the memory setting must hold for the build, which CONCURRENTLY runs outside a transaction.
    await this.db.connection().execute(async (connection) => {
      if ((await this.indexValidity(connection)) === false) await sql.raw(`DROP INDEX ${concurrently}IF EXISTS ${this.indexName}`).execute(connection)
      // An HNSW graph that outgrows maintenance_work_mem (64 MB by default) builds many times slower:
      // a first build over existing vectors (a new dimension) gets room for about 100k of them.
      await sql`select set_config('maintenance_work_mem', '512MB', false)`.execute(connection)
      try {
        await sql
          .raw(
            `CREATE INDEX ${concurrently}IF NOT EXISTS ${this.indexName} ON embeddings USING hnsw ((embedding::vector(${this.dims})) vector_cosine_ops) ` +
              `WITH (m = ${this.hnsw.m}, ef_construction = ${this.hnsw.efConstruction}) WHERE dims = ${this.dims}`,
          )
          .execute(connection)
      } finally {
        await sql`reset maintenance_work_mem`.execute(connection)
      }
    })
    this.indexLive = true
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
      await sql`select set_config('hnsw.ef_search', ${String(this.hnsw.efSearch)}, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)`.execute(trx)
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
