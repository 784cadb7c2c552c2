import type { JsonValue } from '../../platform/db/tables.js'
import type { ChatTurn } from '../../platform/llm/index.js'
import type { MessageRow } from './messages.repo.js'

export interface RecalledMemory {
  id: string
  content: string
  score: number
  /** Offered because it is pinned, whatever the message (its score is the search's when it was also found, else 0). */
  pinned?: boolean
}

export interface Prompt {
  system: string | null
  messages: ChatTurn[]
}

function contextText(context: JsonValue): string {
  return typeof context === 'string' ? context : JSON.stringify(context, null, 2)
}

/**
 * The prompt of a generation: the character's system prompt, the session's system messages, the RAG
 * context of the latest user turn and recalled memories go into the system part; user, tool and
 * finished AI messages make the turns. Unfinished AI messages are left out (a resumed one is passed
 * as the text to continue instead). Consecutive turns of one role are joined, since some providers
 * require the roles to alternate.
 */
export function buildPrompt(input: { agentRole: string | null; history: MessageRow[]; memories?: RecalledMemory[] }): Prompt {
  const system: string[] = []
  if (input.agentRole) system.push(input.agentRole)
  const turns: ChatTurn[] = []
  let context: JsonValue | null = null
  for (const message of input.history) {
    if (message.sender === 'system') {
      system.push(message.content)
      continue
    }
    if (message.sender === 'ai') {
      if (message.status === 'complete' && message.content !== '') turns.push({ role: 'assistant', content: message.content })
      continue
    }
    // The latest user message's own context (none when it has none): an earlier turn's is not this turn's.
    if (message.sender === 'user') context = message.context
    turns.push({ role: 'user', content: message.sender === 'tool' ? `[tool result]\n${message.content}` : message.content })
  }
  if (context !== null) system.push(`Context for this turn:\n${contextText(context)}`)
  if (input.memories && input.memories.length > 0) {
    system.push(`What you remember that may be relevant:\n${input.memories.map((memory) => `- ${memory.content}`).join('\n')}`)
  }
  const merged: ChatTurn[] = []
  for (const turn of turns) {
    const last = merged[merged.length - 1]
    if (last && last.role === turn.role) last.content = `${last.content}\n\n${turn.content}`
    else merged.push({ ...turn })
  }
  return { system: system.length > 0 ? system.join('\n\n') : null, messages: merged }
}

/** Finds memories for a character that has memory enabled (the search module); null when there is none. */
export type RecallMemories = (gptId: string, query: string, settings: { top_k: number; entity_type: string | null; user_id: string }) => Promise<RecalledMemory[]>

/** Memories for a character with memory enabled, recalled by the latest user message. */
export async function recallFor(
  deps: { recall: RecallMemories | null; log: { warn(object: object, message: string): void } },
  gptId: string,
  session: { user_id: string },
  character: { memory: { enabled: boolean; top_k: number; entity_type: string | null } } | null,
  history: { sender: string; content: string }[],
): Promise<RecalledMemory[] | null> {
  if (!character?.memory.enabled || !deps.recall) return null
  const query = [...history].reverse().find((message) => message.sender === 'user')?.content
  if (!query) return null
  try {
    return await deps.recall(gptId, query, { top_k: character.memory.top_k, entity_type: character.memory.entity_type, user_id: session.user_id })
  } catch (error) {
    // A reply without memories beats no reply.
    deps.log.warn({ err: error }, 'could not recall memories for a chat reply')
    return null
  }
}

/** What a reply records of the memories recalled for it (its context); null when none were. */
export function memoryContext(memories: RecalledMemory[] | null): JsonValue | null {
  return memories ? ({ memories } as unknown as JsonValue) : null
}
