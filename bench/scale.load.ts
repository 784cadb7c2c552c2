import { sql } from 'kysely'
import type { Database } from '../src/platform/db/database.js'

/** Words of the generated texts: a common one matches 1/64 of the rows, `rareN` 1 row in 10,000. */
const WORDS = [
  'apple', 'harbor', 'violin', 'granite', 'meadow', 'lantern', 'copper', 'willow', 'saffron', 'glacier',
  'thunder', 'orchid', 'canyon', 'ember', 'falcon', 'juniper', 'marble', 'nectar', 'obsidian', 'pepper',
  'quartz', 'raven', 'sierra', 'tundra', 'umber', 'velvet', 'walnut', 'yarrow', 'zephyr', 'almond',
  'basil', 'cedar', 'dahlia', 'elm', 'fennel', 'garnet', 'hazel', 'iris', 'jasper', 'kelp',
  'lilac', 'maple', 'nutmeg', 'olive', 'poppy', 'quince', 'rosemary', 'sage', 'thyme', 'tulip',
  'vanilla', 'wheat', 'yew', 'zinnia', 'acorn', 'birch', 'clover', 'daisy', 'ebony', 'fig',
  'ginger', 'heather', 'ivy', 'jade',
]
export const COMMON_WORD = WORDS[17]!
export const RARE_WORD = 'rare4242'
export const USERS = 1000
export const TAGS = 100

const wordArray = sql.raw(`(array[${WORDS.map((word) => `'${word}'`).join(',')}])`)

/**
 * A uuidv7 whose time is the row's created_at, so that ids sort like the rows (as the service's own do);
 * the other bits come from the row number's md5.
 */
const uuidFrom = (ts: string, n: string) =>
  sql.raw(
    `(select substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(m, 1, 3) || '-8' || substr(m, 4, 3) || '-' || substr(m, 7, 12)
      from (select lpad(to_hex((extract(epoch from ${ts}) * 1000)::bigint), 12, '0') as h, md5(${n}::text) as m) u)::uuid`,
  )

/** Rows `from`..`to` (inclusive) of collection `big`: a title, a tag of 100, two words and a rare word. */
export async function loadDocuments(database: Database, gptId: string, from: number, to: number): Promise<void> {
  await sql`
    insert into objects (gpt_id, id, collection, body, created_at, updated_at)
    select ${gptId}, ${uuidFrom('t.ts', 'g')}, 'big',
      jsonb_build_object('n', g, 'title', 'Document ' || g, 'tag', 't' || (g % ${sql.lit(TAGS)}),
        'text', ${wordArray}[1 + (g * 31) % 64] || ' ' || ${wordArray}[1 + (g * 17) % 64] || ' rare' || (g % 10000)),
      t.ts, t.ts
    from generate_series(${from}::int, ${to}::int) g, lateral (select timestamptz '2026-01-01' + g * interval '1 second' as ts) t
  `.execute(database.db)
}

/**
 * Memories `from`..`to` of 1,000 end users, each with a vector of ±1/√dims in every coordinate (unit
 * length, random signs): enough for timing, meaningless for ranking. `vector` is the column's type.
 */
export async function loadMemories(database: Database, gptId: string, from: number, to: number, model: string, dims: number, vector: boolean): Promise<void> {
  const scale = 1 / Math.sqrt(dims)
  const value = sql.raw(
    `array(select (case when random() < 0.5 then -${scale} else ${scale} end)::real from generate_series(1, ${dims}) where m.n > 0)${vector ? '::vector' : ''}`,
  )
  await sql`
    with m as (
      insert into memories (gpt_id, id, user_id, content, embedding_status, created_at, updated_at, valid_from)
      select ${gptId}, ${uuidFrom('t.ts', 'g')}, 'user-' || (g % ${sql.lit(USERS)}),
        'The user ' || (array['likes', 'visited', 'bought', 'plans', 'prefers'])[1 + g % 5] || ' ' ||
          ${wordArray}[1 + (g * 31) % 64] || ' and ' || ${wordArray}[1 + (g * 17) % 64] || ' rare' || (g % 10000),
        'ready', t.ts, t.ts, t.ts
      from generate_series(${from}::int, ${to}::int) g, lateral (select timestamptz '2026-01-01' + g * interval '1 second' as ts) t
      returning id, (extract(epoch from created_at))::bigint as n
    )
    insert into embeddings (gpt_id, memory_id, model, dims, embedding)
    select ${gptId}, m.id, ${model}, ${dims}, ${value} from m
  `.execute(database.db)
}

/** Whether embeddings.embedding is pgvector's type (PGlite) or real[] (this PostgreSQL). */
export async function embeddingIsVector(database: Database): Promise<boolean> {
  const { rows } = await sql<{ type: string }>`
    select udt_name as type from information_schema.columns where table_name = 'embeddings' and column_name = 'embedding'
  `.execute(database.db)
  return rows[0]?.type === 'vector'
}

/** Bytes of the database the rows live in (PostgreSQL: pg_database_size; PGlite: the same, of its one database). */
export async function databaseBytes(database: Database): Promise<number> {
  const { rows } = await sql<{ bytes: string }>`select pg_database_size(current_database())::text as bytes`.execute(database.db)
  return Number(rows[0]?.bytes ?? Number.NaN)
}
