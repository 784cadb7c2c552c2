import { sql, type Kysely, type Selectable } from 'kysely'
import type { CharacterExtraction, CharacterMemory, CharactersTable, Tables } from '../../platform/db/tables.js'
import type { PageRequest } from '../../platform/http/pagination.js'

export type CharacterRow = Selectable<CharactersTable>

export interface CharacterChange {
  name?: string
  agent_role?: string
  model?: string | null
  temperature?: number | null
  memory?: CharacterMemory
  extraction?: CharacterExtraction
}

/** Every query sees only characters that are not soft-deleted. */
export class CharactersRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  async insertCharacter(row: {
    gpt_id: string
    id: string
    name: string
    agent_role: string
    model: string | null
    temperature: number | null
    memory: CharacterMemory
    extraction: CharacterExtraction
  }): Promise<CharacterRow> {
    return this.db
      .insertInto('characters')
      .values({ ...row, memory: JSON.stringify(row.memory), extraction: JSON.stringify(row.extraction) })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async findActive(gptId: string, id: string): Promise<CharacterRow | null> {
    return (
      (await this.db
        .selectFrom('characters')
        .selectAll()
        .where('gpt_id', '=', gptId)
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .executeTakeFirst()) ?? null
    )
  }

  /** The characters with automatic extraction and their settings (the GPT's few characters, by its index). */
  async listAutoExtraction(gptId: string): Promise<{ id: string; extraction: CharacterExtraction }[]> {
    return this.db
      .selectFrom('characters')
      .select(['id', 'extraction'])
      .where('gpt_id', '=', gptId)
      .where('deleted_at', 'is', null)
      // As `toCharacterView` reads it: only a JSON true is on.
      .where(sql<boolean>`extraction->'auto' = 'true'::jsonb`)
      .execute()
  }

  async updateCharacter(gptId: string, id: string, change: CharacterChange): Promise<CharacterRow | null> {
    const { memory, extraction, ...rest } = change
    const json = { ...(memory ? { memory: JSON.stringify(memory) } : {}), ...(extraction ? { extraction: JSON.stringify(extraction) } : {}) }
    return (
      (await this.db
        .updateTable('characters')
        .set({ ...rest, ...json, updated_at: sql`now()` })
        .where('gpt_id', '=', gptId)
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .returningAll()
        .executeTakeFirst()) ?? null
    )
  }

  async listCharacters(gptId: string, page: PageRequest & { after: [Date, string] | null }): Promise<CharacterRow[]> {
    const cmp = page.order === 'asc' ? '>' : '<'
    let query = this.db.selectFrom('characters').selectAll().where('gpt_id', '=', gptId).where('deleted_at', 'is', null)
    if (page.after) {
      const [createdAt, id] = page.after
      query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), cmp, eb.tuple(createdAt, id)))
    }
    return query.orderBy('created_at', page.order).orderBy('id', page.order).limit(page.limit + 1).execute()
  }

  /** Soft delete: the row stays for the sessions and messages that point at it. */
  async softDeleteCharacter(gptId: string, id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('characters')
      .set({ deleted_at: sql<Date>`now()`, updated_at: sql`now()` })
      .where('gpt_id', '=', gptId)
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst()
    return result.numUpdatedRows > 0n
  }
}
