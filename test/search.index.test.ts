import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { VectorStore } from '../src/modules/search/vector-store.js'
import { vectorBackend } from '../src/runtime.js'
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js'

// A dimension no other test indexes, so that each store here starts without its index.
let dims = 7
let db: TestDatabase

beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => {
  await db.drop()
})

async function store(hnsw = { m: 8, efConstruction: 32, efSearch: 40 }) {
  const backend = await vectorBackend(db.database)
  return new VectorStore(db.database.db, backend, dims++, 'test-model', { hnsw, concurrentBuild: db.database.kind === 'postgres' })
}

describe('the HNSW index builds in the background', () => {
  it('starts without waiting: exact scans serve while it builds, then the index (with the configured m and ef_construction)', async () => {
    const vectors = await store()
    const errors: unknown[] = []
    await vectors.startIndex((error) => errors.push(error))
    if (!vectors.indexable) {
      // PostgreSQL without pgvector: nothing to build, exact scans for good.
      expect(vectors.state).toBe('exact')
      return
    }
    expect(vectors.state).toBe('building')
    expect(vectors.mode).toBe('exact')
    await vectors.ensureIndex()
    expect(errors).toEqual([])
    expect(vectors.state).toBe('hnsw')
    expect(vectors.mode).toBe('hnsw')
    const { rows } = await sql<{ options: string[] }>`select reloptions as options from pg_class where relname = ${`embeddings_hnsw_${vectors.dims}`}`.execute(db.database.db)
    expect(rows[0]?.options).toEqual(expect.arrayContaining(['m=8', 'ef_construction=32']))
  })

  it('uses an index already there at once, without building', async () => {
    const first = await store()
    await first.ensureIndex()
    const again = new VectorStore(db.database.db, first.backend, first.dims, 'test-model')
    await again.startIndex(() => {})
    expect(again.state).toBe(first.indexable ? 'hnsw' : 'exact')
  })

  it('a failed build leaves exact scans serving and reports the error', async () => {
    const vectors = await store({ m: 8, efConstruction: 4, efSearch: 40 })
    if (!vectors.indexable) return
    const errors: unknown[] = []
    await vectors.startIndex((error) => errors.push(error))
    await vi.waitFor(() => expect(errors).toHaveLength(1))
    expect(String(errors[0])).toMatch(/ef_construction/)
    expect(vectors.state).toBe('exact')
  })
})
