import { Type, type Static } from 'typebox'

export const CharacterId = Type.String({ format: 'uuid', description: 'Character id.' })
export const CharacterParams = Type.Object({ id: CharacterId })

/** Memory settings default: how many memories a generation with this character recalls. */
export const DEFAULT_MEMORY_TOP_K = 5
export const MAX_MEMORY_TOP_K = 50

const MemorySettings = Type.Object(
  {
    enabled: Type.Boolean({ description: 'Whether generations with this character recall long-term memories.' }),
    top_k: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_MEMORY_TOP_K, description: `How many memories to recall (default ${DEFAULT_MEMORY_TOP_K}).` })),
    entity_type: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Recall only memories of this entity type.' })),
  },
  { additionalProperties: false, description: 'Long-term memory settings; replaced as a whole by PATCH.' },
)

/** Automatic extraction default: a run after this many new user messages of a session. */
export const DEFAULT_EXTRACTION_EVERY_TURNS = 10
export const MAX_EXTRACTION_EVERY_TURNS = 1000

const ExtractionSettings = Type.Object(
  {
    auto: Type.Boolean({ description: 'Whether sessions with this character get memories extracted in the background (docs/memory.md, Extraction).' }),
    every_turns: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_EXTRACTION_EVERY_TURNS, description: `A run after this many new user messages since the last run (default ${DEFAULT_EXTRACTION_EVERY_TURNS}).` }),
    ),
  },
  { additionalProperties: false, description: 'Automatic extraction of memories from its sessions; replaced as a whole by PATCH.' },
)

const Name = Type.String({ minLength: 1, maxLength: 200, description: 'Display name; need not be unique within the GPT.' })
const Model = Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()], { description: 'LLM model for this character; null: the service default.' })
const Temperature = Type.Union([Type.Number({ minimum: 0, maximum: 2 }), Type.Null()], { description: 'Sampling temperature 0–2; null: the provider default.' })

export interface CharacterLimits {
  /** Longest system prompt, in characters (twice MAX_MESSAGE_CHARS). */
  maxAgentRoleChars: number
}

const agentRole = (limits: CharacterLimits) =>
  Type.String({ minLength: 1, maxLength: limits.maxAgentRoleChars, description: `The system prompt (1–${limits.maxAgentRoleChars} characters, twice MAX_MESSAGE_CHARS).` })

export function createCharacterBody(limits: CharacterLimits) {
  return Type.Object(
    {
      name: Name,
      agent_role: agentRole(limits),
      model: Type.Optional(Model),
      temperature: Type.Optional(Temperature),
      memory: Type.Optional(MemorySettings),
      extraction: Type.Optional(ExtractionSettings),
    },
    { additionalProperties: false },
  )
}
export type CreateCharacterInput = Static<ReturnType<typeof createCharacterBody>>

export function patchCharacterBody(limits: CharacterLimits) {
  return Type.Object(
    {
      name: Type.Optional(Name),
      agent_role: Type.Optional(agentRole(limits)),
      model: Type.Optional(Model),
      temperature: Type.Optional(Temperature),
      memory: Type.Optional(MemorySettings),
      extraction: Type.Optional(ExtractionSettings),
    },
    { additionalProperties: false, minProperties: 1 },
  )
}
export type PatchCharacterInput = Static<ReturnType<typeof patchCharacterBody>>
export type MemoryInput = NonNullable<CreateCharacterInput['memory']>
export type ExtractionInput = NonNullable<CreateCharacterInput['extraction']>

export const Character = Type.Object({
  id: Type.String({ format: 'uuid' }),
  gpt_id: Type.String(),
  name: Type.String(),
  agent_role: Type.String(),
  model: Type.Union([Type.String(), Type.Null()]),
  temperature: Type.Union([Type.Number(), Type.Null()]),
  memory: Type.Object({
    enabled: Type.Boolean(),
    top_k: Type.Integer(),
    entity_type: Type.Union([Type.String(), Type.Null()]),
  }),
  extraction: Type.Object({ auto: Type.Boolean(), every_turns: Type.Integer() }),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
})
export type CharacterView = Static<typeof Character>

export const CharacterList = Type.Object({
  characters: Type.Array(Character),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  has_more: Type.Boolean(),
})
