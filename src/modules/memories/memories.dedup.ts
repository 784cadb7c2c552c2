import { sql, type Kysely } from 'kysely'
import type { Tables } from '../../platform/db/tables.js'
import type { VectorStore } from '../search/vector-store.js'
import { live } from './memories.repo.js'

export interface DedupScope {
  userId: string | null
  entityType: string | null
}

/**
 * The live, current memory of the same user and entity type (and no entity id: an entity write is an
 * upsert already) whose vector is closest to `vector`, when its cosine similarity reaches `threshold`.
 * Runs in the write's transaction, so that a batch's later memories see its earlier ones.
 */
export async function nearDuplicate(
  db: Kysely<Tables>,
  store: VectorStore,
  gptId: string,
  scope: DedupScope,
  vector: number[],
  threshold: number,
): Promise<{ id: string; similarity: number } | null> {
  if (store.mode === 'hnsw') await sql`select set_config('hnsw.ef_search', '100', true), set_config('hnsw.iterative_scan', 'relaxed_order', true)`.execute(db)
  const { rows } = await sql<{ id: string; similarity: number }>`
    select m.id, ${store.similarity(vector)} as similarity
    from embeddings e join memories m on m.gpt_id = e.gpt_id and m.id = e.memory_id
    where ${store.candidates(gptId, 'memories')} and m.gpt_id = ${gptId}
      and m.user_id is not distinct from ${scope.userId} and m.entity_type is not distinct from ${scope.entityType} and m.entity_id is null
      and ${live('m')} and m.valid_to is null
    order by ${store.distance(vector)}
    limit 1
  `.execute(db)
  const nearest = rows[0]
  return nearest && nearest.similarity >= threshold ? nearest : null
}
