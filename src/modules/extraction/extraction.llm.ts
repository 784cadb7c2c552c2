import { Value } from 'typebox/value'
import type { ChatTurn, LlmProvider } from '../../platform/llm/index.js'
import { LlmAnswer, type LlmAnswerValue } from './extraction.schemas.js'

/** LLM calls per run: the first, and two retries after output that is not JSON of the schema. */
export const LLM_ATTEMPTS = 3
/** Output tokens one call may spend (a run's answer is a short list of facts). */
export const LLM_MAX_OUTPUT_TOKENS = 1024
export const SCHEMA_NAME = 'memory_decisions'

/**
 * The prompt contract (tested against the fake provider): the system prompt states the task and the
 * four actions; the user turn carries the known memories and the new messages as JSON, with their ids.
 */
export const EXTRACTION_SYSTEM_PROMPT = [
  'You maintain the long-term memory of an assistant about one user.',
  'Read the new chat messages and decide, for each durable fact about the user they state (preferences, identity, relationships, plans, circumstances), one action:',
  '- "add": a new fact; memory_id null.',
  '- "update": the fact refines a known memory without contradicting it; memory_id is that memory, content the refined text.',
  '- "supersede": the fact contradicts a known memory (it changed); memory_id is the memory it replaces.',
  '- "none": a known memory already says it; memory_id is that memory.',
  'Write content as one short self-contained sentence in the third person ("The user …"). message_ids lists the ids of the messages stating the fact.',
  'Ignore small talk, questions, the assistant\'s own statements, and anything the user did not say about themselves. No facts: an empty decisions list.',
  'Answer only with JSON matching the schema.',
].join('\n')

export interface LlmInput {
  messages: { id: string; sender: string; content: string }[]
  known: { id: string; content: string }[]
}

export interface Usage {
  input: number
  output: number
}

/** The JSON Schema sent to the provider (plain JSON: TypeBox's markers removed). */
export const ANSWER_JSON_SCHEMA = JSON.parse(JSON.stringify(LlmAnswer)) as Record<string, unknown>

export function userPrompt(input: LlmInput): string {
  return JSON.stringify({ known_memories: input.known, new_messages: input.messages })
}

/** The answer checked against the schema and the run: every id must be one the prompt gave. */
export function checkAnswer(text: string, input: LlmInput, maxChars: number): LlmAnswerValue {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new Error(`not JSON: ${JSON.stringify(text.slice(0, 80))}`)
  }
  if (!Value.Check(LlmAnswer, value)) {
    const first = [...Value.Errors(LlmAnswer, value)][0]
    throw new Error(`does not match the schema${first ? ` (${first.instancePath || '/'}: ${first.message})` : ''}`)
  }
  const known = new Set(input.known.map((memory) => memory.id))
  const messages = new Set(input.messages.map((message) => message.id))
  value.decisions.forEach((decision, index) => {
    const at = `/decisions/${index}`
    if (decision.action === 'add' ? decision.memory_id !== null : decision.memory_id === null || !known.has(decision.memory_id)) {
      throw new Error(`${at}/memory_id: ${decision.action === 'add' ? 'must be null for add' : 'must be one of the known memories'}`)
    }
    if (decision.content.trim().length === 0 || decision.content.length > maxChars) throw new Error(`${at}/content: empty or longer than ${maxChars} characters`)
    if (decision.message_ids.some((id) => !messages.has(id))) throw new Error(`${at}/message_ids: not all are ids of the new messages`)
  })
  return value
}

/**
 * Asks the provider; output that is not JSON of the schema is asked again, saying what was wrong, up
 * to LLM_ATTEMPTS calls. `spent` is told each call's usage as it returns (the budget counts them all).
 */
export async function askLlm(
  llm: LlmProvider & Required<Pick<LlmProvider, 'completeJson'>>,
  input: LlmInput,
  options: { maxChars: number; signal?: AbortSignal; spent(usage: Usage): Promise<void> },
): Promise<LlmAnswerValue> {
  const prompt: ChatTurn = { role: 'user', content: userPrompt(input) }
  let turns: ChatTurn[] = [prompt]
  let problem = ''
  for (let attempt = 1; attempt <= LLM_ATTEMPTS; attempt++) {
    const completion = await llm.completeJson({
      system: EXTRACTION_SYSTEM_PROMPT,
      messages: turns,
      schemaName: SCHEMA_NAME,
      schema: ANSWER_JSON_SCHEMA,
      maxTokens: LLM_MAX_OUTPUT_TOKENS,
      ...(options.signal ? { signal: options.signal } : {}),
    })
    await options.spent(completion.usage)
    try {
      return checkAnswer(completion.text, input, options.maxChars)
    } catch (error) {
      problem = (error as Error).message
      if (attempt === LLM_ATTEMPTS) break
      // Only the last rejected answer is shown again: the prompt does not grow with each retry.
      turns = [
        prompt,
        { role: 'assistant', content: completion.text || '(empty)' },
        { role: 'user', content: `That answer was rejected: ${problem}. Answer again, only with JSON matching the schema.` },
      ]
    }
  }
  throw new BadOutputError(`the model's output was rejected ${LLM_ATTEMPTS} times; last: ${problem}`)
}

export class BadOutputError extends Error {
  override readonly name = 'BadOutputError'
}
