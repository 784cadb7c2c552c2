import { uuidv7 } from 'uuidv7'
import type { CharacterExtraction, CharacterMemory } from '../../platform/db/tables.js'
import { ERR } from '../../platform/errors.js'
import { pageRequest, toPage, type Page, type SortOrder } from '../../platform/http/pagination.js'
import { timeIdAfter } from '../../platform/http/seek.js'
import type { CharacterRow, CharactersRepository } from './characters.repo.js'
import {
  DEFAULT_EXTRACTION_EVERY_TURNS,
  DEFAULT_MEMORY_TOP_K,
  type CharacterView,
  type ExtractionInput,
  type CreateCharacterInput,
  type MemoryInput,
  type PatchCharacterInput,
} from './characters.schemas.js'

export function toCharacterView(row: CharacterRow): CharacterView {
  return {
    id: row.id,
    gpt_id: row.gpt_id,
    name: row.name,
    agent_role: row.agent_role,
    model: row.model,
    temperature: row.temperature,
    memory: {
      enabled: row.memory.enabled === true,
      top_k: row.memory.top_k ?? DEFAULT_MEMORY_TOP_K,
      entity_type: row.memory.entity_type ?? null,
    },
    extraction: { auto: row.extraction.auto === true, every_turns: row.extraction.every_turns ?? DEFAULT_EXTRACTION_EVERY_TURNS },
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  }
}

/** Stored with its default filled in, so that a later change of the default does not alter it. */
function storedMemory(input: MemoryInput): CharacterMemory {
  return {
    enabled: input.enabled,
    top_k: input.top_k ?? DEFAULT_MEMORY_TOP_K,
    ...(input.entity_type !== undefined ? { entity_type: input.entity_type } : {}),
  }
}

function storedExtraction(input: ExtractionInput): CharacterExtraction {
  return { auto: input.auto, every_turns: input.every_turns ?? DEFAULT_EXTRACTION_EVERY_TURNS }
}

export class CharactersService {
  constructor(
    private readonly repo: CharactersRepository,
    private readonly limits: { defaultPageSize: number },
    /** Runs after a character is created, changed or deleted (cached settings of the GPT's characters are dropped). */
    private readonly changed: (gptId: string) => Promise<void> = async () => {},
  ) {}

  async createCharacter(gptId: string, input: CreateCharacterInput): Promise<CharacterView> {
    const row = await this.repo.insertCharacter({
      gpt_id: gptId,
      id: uuidv7(),
      name: input.name,
      agent_role: input.agent_role,
      model: input.model ?? null,
      temperature: input.temperature ?? null,
      memory: storedMemory(input.memory ?? { enabled: false }),
      extraction: storedExtraction(input.extraction ?? { auto: false }),
    })
    await this.changed(gptId)
    return toCharacterView(row)
  }

  /** The character when it exists in the GPT and is not deleted; null otherwise (for generation and references). */
  async findActiveCharacter(gptId: string, id: string): Promise<CharacterView | null> {
    const row = await this.repo.findActive(gptId, id)
    return row ? toCharacterView(row) : null
  }

  /** Like `findActiveCharacter`, but a missing or deleted character is a 404. */
  async getCharacter(gptId: string, id: string): Promise<CharacterView> {
    const character = await this.findActiveCharacter(gptId, id)
    if (!character) throw ERR.notFound('Character', id)
    return character
  }

  async updateCharacter(gptId: string, id: string, input: PatchCharacterInput): Promise<CharacterView> {
    const { memory, extraction, ...rest } = input
    const row = await this.repo.updateCharacter(gptId, id, {
      ...rest,
      ...(memory ? { memory: storedMemory(memory) } : {}),
      ...(extraction ? { extraction: storedExtraction(extraction) } : {}),
    })
    if (!row) throw ERR.notFound('Character', id)
    await this.changed(gptId)
    return toCharacterView(row)
  }

  /** The characters that extract automatically: id → every_turns (the defaults of `toCharacterView`). */
  async autoExtraction(gptId: string): Promise<Map<string, number>> {
    const rows = await this.repo.listAutoExtraction(gptId)
    return new Map(rows.map((row) => [row.id, row.extraction.every_turns ?? DEFAULT_EXTRACTION_EVERY_TURNS]))
  }

  async listCharacters(gptId: string, query: { limit?: number; cursor?: string; order?: SortOrder }): Promise<Page<CharacterView>> {
    const page = pageRequest(query, `characters:${gptId}`, { defaultPageSize: this.limits.defaultPageSize, order: 'asc' })
    const rows = await this.repo.listCharacters(gptId, { ...page, after: timeIdAfter(page) })
    const result = toPage(rows, page, (row) => [row.created_at.toISOString(), row.id])
    return { ...result, items: result.items.map(toCharacterView) }
  }

  /** Soft delete: hidden from now on; sessions and messages keep their `character_id`. */
  async deleteCharacter(gptId: string, id: string): Promise<void> {
    if (!(await this.repo.softDeleteCharacter(gptId, id))) throw ERR.notFound('Character', id)
    await this.changed(gptId)
  }
}
