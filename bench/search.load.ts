import { sql } from 'kysely'
import { uuidv7 } from 'uuidv7'
import type { Database } from '../src/platform/db/database.js'
import { USE_LITE_DIMENSIONS, USE_LITE_MODEL } from '../src/platform/embeddings/use-lite.model.js'

// The search bench's data: seeded unit vectors of the local model's size, loaded as memories with SQL;
// and the GPTs and query shape the bench's parts share.

export const GPT = 'bench-search'
export const OTHER_GPT = 'bench-search-other'
/** Hits per query, and the untimed queries before the measured ones. */
export const TOP_K = 10
export const WARMUP = 10
export const DIMS = USE_LITE_DIMENSIONS
export const MODEL = USE_LITE_MODEL
const BATCH = 1000

/** A seeded generator (mulberry32), so that every run loads and queries the same vectors. */
export function generator(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** Standard normal coordinates (Box–Muller). */
function normals(random: () => number): number[] {
  const vector: number[] = []
  while (vector.length < DIMS) {
    const radius = Math.sqrt(-2 * Math.log(1 - random()))
    const angle = 2 * Math.PI * random()
    vector.push(radius * Math.cos(angle), radius * Math.sin(angle))
  }
  return vector
}

function unit(vector: number[]): number[] {
  const norm = Math.hypot(...vector)
  return vector.map((value) => value / norm)
}

const CENTRES = 1000
/** Per-coordinate noise around a centre: members of one topic have a cosine similarity of ~0.35, other vectors ~0. */
const SPREAD = 0.06

/**
 * Unit vectors: uniformly random directions, or points scattered around CENTRES fixed topic centres
 * (closer to what a text model gives: neighbours stand out from the rest).
 */
export function vectorSource(kind: 'random' | 'clustered', seed: number): (count: number) => number[][] {
  const random = generator(seed)
  const centreRandom = generator(1)
  const centres = kind === 'clustered' ? Array.from({ length: CENTRES }, () => unit(normals(centreRandom))) : []
  const one = () => {
    const noise = normals(random)
    if (kind === 'random') return unit(noise)
    const centre = centres[Math.floor(random() * CENTRES)]!
    return unit(centre.map((value, index) => value + noise[index]! * SPREAD))
  }
  return (count) => Array.from({ length: count }, one)
}

/** Bytes per vector of pgvector's in-memory HNSW build graph, from its notice (64MB held 25,657 vectors of 512 dims). */
export const graphBytes = (vectors: number) => vectors * (4 * DIMS + 570)

export function megabytes(setting: string): number {
  const match = /^(\d+)\s*(kB|MB|GB)$/.exec(setting)
  if (!match) return Number.NaN
  return Number(match[1]) * { kB: 1 / 1024, MB: 1, GB: 1024 }[match[2] as 'kB' | 'MB' | 'GB']
}

const vectorText = (vector: number[]) => `[${vector.map((value) => value.toFixed(6)).join(',')}]`

/** `count` memories of one GPT, each with its vector, in multi-row INSERTs of BATCH rows. */
export async function loadMemories(database: Database, gptId: string, from: number, count: number, source: (count: number) => number[][]): Promise<void> {
  for (let start = 0; start < count; start += BATCH) {
    const size = Math.min(BATCH, count - start)
    const ids = Array.from({ length: size }, () => uuidv7())
    const vectors = source(size)
    await database.db.transaction().execute(async (trx) => {
      await sql`
        insert into memories (gpt_id, id, user_id, content, embedding_status)
        values ${sql.join(ids.map((id, index) => sql`(${gptId}, ${id}, ${'user-' + ((from + start + index) % 50)}, ${`Memory ${from + start + index} of ${gptId}`}, 'ready')`))}
      `.execute(trx)
      await sql`
        insert into embeddings (gpt_id, memory_id, model, dims, embedding)
        values ${sql.join(ids.map((id, index) => sql`(${gptId}, ${id}, ${MODEL}, ${DIMS}, ${vectorText(vectors[index]!)}::vector)`))}
      `.execute(trx)
    })
  }
}
