import { Type, type Static } from 'typebox'

export const ExtractionParams = Type.Object({ id: Type.String({ format: 'uuid', description: 'Extraction run id.' }) })
export const SessionExtractParams = Type.Object({ id: Type.String({ format: 'uuid', description: 'Session id.' }) })

export const EXTRACTION_STATUSES = ['queued', 'running', 'waiting_budget', 'done', 'failed'] as const
export const EXTRACTION_ACTIONS = ['add', 'update', 'supersede', 'none'] as const
export type ExtractionAction = (typeof EXTRACTION_ACTIONS)[number]

export const Decision = Type.Object({
  action: Type.Enum(EXTRACTION_ACTIONS, { description: 'add: a new memory; update: an existing one refined; supersede: a new memory replacing one it contradicts; none: already known.' }),
  content: Type.String({ description: 'The fact, as stored (or as found, for none).' }),
  memory_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'The memory written (add, update, supersede) or already holding the fact (none).' }),
  supersedes: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'The memory a supersede replaced.' }),
  message_ids: Type.Array(Type.String({ format: 'uuid' }), { description: 'The chat messages the fact comes from (its provenance).' }),
})
export type DecisionView = Static<typeof Decision>

export const ExtractionRun = Type.Object({
  id: Type.String({ format: 'uuid' }),
  gpt_id: Type.String(),
  session_id: Type.String({ format: 'uuid' }),
  user_id: Type.String(),
  trigger: Type.Enum(['request', 'auto'], { description: 'request: POST /v1/sessions/{id}/extract; auto: the character\'s every_turns.' }),
  status: Type.Enum(EXTRACTION_STATUSES, { description: 'queued → running → done | failed; waiting_budget (with reason) while the GPT\'s daily budget is spent.' }),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'Why the run waits or failed.' }),
  extractor: Type.Union([Type.String(), Type.Null()], { description: '`offline` (rules, no LLM) or `llm:<provider>/<model>`; null until it ran.' }),
  from_message_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  to_message_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  messages_read: Type.Integer(),
  decisions: Type.Array(Decision),
  summary: Type.Object({ add: Type.Integer(), update: Type.Integer(), supersede: Type.Integer(), none: Type.Integer() }),
  tokens_in: Type.Integer({ description: 'LLM prompt tokens, all attempts together.' }),
  tokens_out: Type.Integer({ description: 'LLM output tokens, all attempts together.' }),
  attempts: Type.Integer({ description: 'LLM calls made (bad output is retried).' }),
  created_at: Type.String({ format: 'date-time' }),
  started_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  finished_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
})
export type ExtractionRunView = Static<typeof ExtractionRun>

export const ExtractionRunList = Type.Object({
  extractions: Type.Array(ExtractionRun),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  has_more: Type.Boolean(),
})

/**
 * What the LLM must answer: strict-mode JSON Schema (every property required, nothing else), so that
 * OpenAI's json_schema and Anthropic's forced tool both enforce it; the answer is checked again here.
 */
export const LlmAnswer = Type.Object(
  {
    decisions: Type.Array(
      Type.Object(
        {
          action: Type.Enum(EXTRACTION_ACTIONS),
          content: Type.String({ description: 'One self-contained fact about the user, in the third person.' }),
          memory_id: Type.Union([Type.String(), Type.Null()], { description: 'For update, supersede and none: the id of the known memory it concerns; null for add.' }),
          message_ids: Type.Array(Type.String(), { description: 'Ids of the messages that state the fact.' }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)
export type LlmAnswerValue = Static<typeof LlmAnswer>
