import type { Kysely } from 'kysely'
import { uuidv7 } from 'uuidv7'
import type { JsonValue, Tables } from '../../platform/db/tables.js'
import { ERR } from '../../platform/errors.js'
import type { CharacterView } from '../characters/characters.schemas.js'
import type { GenerationRepository } from './generation.repo.js'
import type { MessageRow, MessagesRepository } from './messages.repo.js'
import type { SessionsRepository } from './sessions.repo.js'
import type { SessionView } from './sessions.schemas.js'
import { toSessionView } from './sessions.service.js'

/** The user's message and the pending reply, stored in one transaction (with the session, for a new chat). */
export interface Stored {
  session: SessionView
  ai: MessageRow
  user: MessageRow | null
  model: string
}

/** Where a reply goes: a session that exists, or a new one for this end user and character. */
export type ChatTarget = SessionView | { user_id: string; character_id: string }

interface StoreDeps {
  repo: GenerationRepository
  messagesRepo: MessagesRepository
  sessionsRepo: SessionsRepository
  llm: { defaultModel: string }
  limits: { generationLeaseMs: number }
}

/**
 * Takes the session's lease and stores the user message (chat) and the AI message in `trx` (a new
 * session first, for a new chat); 409 and nothing stored when a generation is running. The AI message
 * is stored in progress, with its recalled memories as context: the generation starts right after the
 * commit, and a process that dies from then on leaves it to be marked interrupted and resumed.
 */
export async function storeReply(
  deps: StoreDeps,
  trx: Kysely<Tables>,
  gptId: string,
  target: ChatTarget,
  character: CharacterView | null,
  model: string | undefined,
  userMessage: { sender: 'user'; content: string; context: JsonValue | null } | null,
  context: JsonValue | null,
): Promise<Stored> {
  const chosenModel = model ?? character?.model ?? deps.llm.defaultModel
  const session =
    'id' in target
      ? target
      : toSessionView(await deps.sessionsRepo.insertSession({ gpt_id: gptId, id: uuidv7(), ...target, name: null, metadata: {}, is_favorite: false }, trx))
  // Both rows get the transaction's now(): their ids (time-ordered) keep the user's message first.
  const userId = uuidv7()
  const id = uuidv7()
  if (!(await deps.repo.acquireLease(trx, gptId, session.id, id, deps.limits.generationLeaseMs))) await refuseLease(deps, trx, gptId, session.id)
  const base = { gpt_id: gptId, session_id: session.id, partial_content: '', error_message: null }
  const user = userMessage
    ? await deps.messagesRepo.insertMessage({ ...base, ...userMessage, id: userId, status: 'complete', model: null, character_id: null }, trx)
    : null
  const ai = await deps.messagesRepo.insertMessage(
    { ...base, id, sender: 'ai', content: '', context, status: 'in_progress', model: chosenModel, character_id: character?.id ?? session.character_id },
    trx,
  )
  return { session, ai, user, model: chosenModel }
}

/**
 * Why the lease could not be had: the session is gone (404), or a generation holds it (409). Read on
 * `db`, the caller's transaction when there is one (PGlite has one connection: another would wait forever).
 */
export async function refuseLease(deps: { sessionsRepo: SessionsRepository }, db: Kysely<Tables>, gptId: string, sessionId: string): Promise<never> {
  if (!(await deps.sessionsRepo.findSession(gptId, sessionId, db))) throw ERR.notFound('Session', sessionId)
  throw ERR.conflict('A generation is running for this session.')
}
