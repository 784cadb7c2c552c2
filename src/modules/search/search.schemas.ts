import { Type, type Static } from 'typebox'

export const SEARCH_SOURCES = ['memories', 'objects', 'messages'] as const

const Source = Type.Union([Type.Literal('memories'), Type.Literal('objects'), Type.Literal('messages')])
const Mode = (description?: string) =>
  Type.Union([Type.Literal('semantic'), Type.Literal('keyword'), Type.Literal('hybrid')], description ? { description } : {})

const Label = (description: string) => Type.String({ minLength: 1, maxLength: 200, description })

export const SearchBody = Type.Object(
  {
    query: Type.String({ minLength: 1, maxLength: 2000, pattern: '\\S', description: 'What to look for; not blank.' }),
    top_k: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 10, description: 'Results to return (1–50, default 10).' })),
    mode: Type.Optional(
      Mode('`semantic` (vectors), `keyword` (full text) or `hybrid` (both: cosine plus lexical evidence; default).'),
    ),
    rank: Type.Optional(
      Type.Union([Type.Literal('relevance'), Type.Literal('recency')], {
        description: '`relevance` (default): a memory\'s score times (0.5 + importance); `recency`: also halved every MEMORY_HALF_LIFE_DAYS since its last change.',
      }),
    ),
    as_of: Type.Optional(Type.String({ format: 'date-time', description: 'Memories valid at that time (default now): what was true then.' })),
    sources: Type.Optional(
      Type.Array(Source, {
        minItems: 1,
        uniqueItems: true,
        description: 'What to search: memories, objects (documents) and messages (chat); default all.',
      }),
    ),
    filters: Type.Optional(
      Type.Object(
        {
          entity_type: Type.Optional(Label('Memories of this entity type; documents of this collection. Leaves messages out.')),
          user_id: Type.Optional(Label('Memories and chat messages of this end user. Leaves documents out.')),
          where: Type.Optional(
            Type.Object({}, { additionalProperties: true, description: 'Containment: memory metadata, document body, message context.' }),
          ),
          created_after: Type.Optional(Type.String({ format: 'date-time' })),
          created_before: Type.Optional(Type.String({ format: 'date-time' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)
export type SearchInput = Static<typeof SearchBody>

export const SearchResult = Type.Object({
  source: Source,
  id: Type.String({ format: 'uuid' }),
  score: Type.Number({ description: 'Cosine similarity (semantic), full-text rank (keyword) or cosine plus 0.5 × (share of the query words held)² (hybrid); for memories, weighted by importance (and age with rank: recency).' }),
  content: Type.String({ description: 'The memory or message text; a document as JSON.' }),
  metadata: Type.Object({}, { additionalProperties: true }),
  details: Type.Object({}, {
    additionalProperties: true,
    description: 'Memory: entity_type, entity_id, user_id, importance, pinned, valid_from, valid_to, updated_at. Document: collection. Message: session_id, sender, user_id.',
  }),
  created_at: Type.String({ format: 'date-time' }),
  match: Type.Object(
    {
      semantic: Type.Union([
        Type.Object({
          rank: Type.Integer({ minimum: 1, description: 'Place among the nearest items by meaning.' }),
          similarity: Type.Number({ description: 'Cosine similarity to the query.' }),
        }),
        Type.Null(),
      ]),
      keyword: Type.Union([
        Type.Object({
          rank: Type.Integer({ minimum: 1, description: 'Place among the full-text matches.' }),
          score: Type.Number({ description: 'Full-text rank (ts_rank).' }),
          terms: Type.Array(Type.String(), { description: 'The query words the text holds (longer words also as prefixes).' }),
        }),
        Type.Null(),
      ]),
    },
    { description: 'Why the result was found: its place in the semantic list and the keyword list (null where it was not found that way).' },
  ),
})

export const SearchResponse = Type.Object({
  results: Type.Array(SearchResult),
  mode: Mode('The mode actually used.'),
  sources: Type.Array(Source),
  vector_backend: Type.Union([Type.Literal('hnsw'), Type.Literal('exact')]),
  embedding_model: Type.String(),
  warnings: Type.Optional(Type.Array(Type.String(), { description: 'Why the answer is partial (for example semantic search unavailable, so hybrid fell back to keyword).' })),
})
export type SearchView = Static<typeof SearchResponse>
