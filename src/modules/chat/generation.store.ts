import { sql, type Kysely, type RawBuilder } from 'kysely'
import { uuidv7 } from 'uuidv7'
import type { JsonValue, Tables } from '../../platform/db/tables.js'
import { prepared } from '../../platform/db/prepared.js'
import { ERR } from '../../platform/errors.js'
import type { CharacterView } from '../characters/characters.schemas.js'
import { MESSAGE_COLUMNS, type MessageRow } from './messages.repo.js'
import type { SessionsRepository } from './sessions.repo.js'
import type { SessionView } from './sessions.schemas.js'

/** What a generation needs of its session. */
export type GenerationSession = Pick<SessionView, 'id' | 'user_id' | 'character_id'>

/** The user's message and the pending reply, stored in one statement (with the session, for a new chat). */
export interface Stored {
  session: GenerationSession
  ai: MessageRow
  user: MessageRow | null
  model: string
}

/** Where a reply goes: a session that exists, or a new one for this end user and character. */
export type ChatTarget = GenerationSession | { user_id: string; character_id: string }

interface StoreDeps {
  sessionsRepo: SessionsRepository
  llm: { defaultModel: string }
  limits: { generationLeaseMs: number }
}

type UserMessage = { sender: 'user'; content: string; context: JsonValue | null }

const returned = sql.join(MESSAGE_COLUMNS.map((column) => sql.ref(column)))
const json = (value: JsonValue | null) => (value === null ? null : JSON.stringify(value))

/** A message row for each session row `lease` returns (none when it returns none). */
function insertFrom(row: { id: string; sender: 'user' | 'ai'; content: string; context: JsonValue | null; status: 'complete' | 'in_progress'; model: string | null; characterId: string | null }): RawBuilder<unknown> {
  return sql`insert into chat_messages (gpt_id, session_id, id, sender, content, context, status, partial_content, error_message, model, character_id)
    select lease.gpt_id, lease.id, ${row.id}::uuid, ${row.sender}::text, ${row.content}::text, ${json(row.context)}::jsonb, ${row.status}::text, '', null, ${row.model}::text, ${row.characterId}::uuid
    from lease returning ${returned}`
}

/**
 * Takes the session's lease and stores the user message (chat) and the AI message in progress, with
 * its recalled memories as context (a new chat's session is inserted already leased); 409 and nothing
 * stored when a generation is running. One statement: it commits once, and outside a transaction
 * needs no BEGIN or COMMIT of its own — each of those was a round trip before the provider is
 * called. On `db`, the caller's transaction when there is one (an Idempotency-Key's). Once this
 * returns the rows are durable, so a process that dies from then on leaves the reply to be marked
 * interrupted and resumed.
 */
export async function storeReply(
  deps: StoreDeps,
  db: Kysely<Tables>,
  gptId: string,
  target: ChatTarget,
  character: CharacterView | null,
  model: string | undefined,
  userMessage: UserMessage | null,
  context: JsonValue | null,
): Promise<Stored> {
  const chosenModel = model ?? character?.model ?? deps.llm.defaultModel
  const leaseSecs = deps.limits.generationLeaseMs / 1000
  // Ids minted in this order, and both rows given the statement's now(): the user's message sorts first.
  const sessionId = 'id' in target ? target.id : uuidv7()
  const userId = uuidv7()
  const id = uuidv7()
  // A CTE cannot update a row another CTE of its statement inserts: a new session is inserted leased.
  const lease =
    'id' in target
      ? sql`update chat_sessions
          set generating_message_id = ${id}::uuid, generation_lease_until = now() + make_interval(secs => ${leaseSecs}::double precision),
            last_activity_at = now(), updated_at = now()
          where gpt_id = ${gptId}::text and id = ${sessionId}::uuid and (generating_message_id is null or generation_lease_until < now())
          returning gpt_id, id`
      : sql`insert into chat_sessions (gpt_id, id, user_id, character_id, generating_message_id, generation_lease_until)
          values (${gptId}::text, ${sessionId}::uuid, ${target.user_id}::text, ${target.character_id}::uuid, ${id}::uuid, now() + make_interval(secs => ${leaseSecs}::double precision))
          returning gpt_id, id`
  const ai = insertFrom({ id, sender: 'ai', content: '', context, status: 'in_progress', model: chosenModel, characterId: character?.id ?? target.character_id })
  const query = userMessage
    ? sql<MessageRow>`with lease as (${lease}),
        u as (${insertFrom({ id: userId, sender: 'user', content: userMessage.content, context: userMessage.context, status: 'complete', model: null, characterId: null })}),
        a as (${ai})
        select ${returned} from u union all select ${returned} from a`
    : sql<MessageRow>`with lease as (${lease}), a as (${ai}) select ${returned} from a`
  const { rows } = await db.executeQuery(prepared(query.compile(db)))
  const stored = rows.find((row) => row.sender === 'ai')
  if (!stored) return refuseLease(deps, db, gptId, sessionId)
  const session = { id: sessionId, user_id: target.user_id, character_id: target.character_id }
  return { session, ai: stored, user: rows.find((row) => row.sender === 'user') ?? null, model: chosenModel }
}

/**
 * Where a chat's reply goes: the named session (found, and of `userId` when one is given), or a new
 * one for `userId` and the character; 422 otherwise.
 */
export function chatTarget(named: boolean, found: GenerationSession | null, userId: string | undefined, character: CharacterView | null): ChatTarget {
  if (named) {
    if (!found) throw ERR.validation('No such session in this GPT.', [{ pointer: '/session_id', location: 'body', message: 'no such session' }])
    if (userId !== undefined && userId !== found.user_id) {
      throw ERR.validation('The session belongs to another end user.', [
        { pointer: '/user_id', location: 'body', message: "differs from the session's user_id (leave it out to continue the session)" },
      ])
    }
    return found
  }
  if (userId === undefined) {
    throw ERR.validation('A new chat needs the end user it belongs to.', [
      { pointer: '/user_id', location: 'body', message: 'required when session_id is not given' },
    ])
  }
  return { user_id: userId, character_id: character!.id }
}

/**
 * Why the lease could not be had: the session is gone (404), or a generation holds it (409). Read on
 * `db`, the caller's transaction when there is one (PGlite has one connection: another would wait forever).
 */
export async function refuseLease(deps: { sessionsRepo: SessionsRepository }, db: Kysely<Tables>, gptId: string, sessionId: string): Promise<never> {
  if (!(await deps.sessionsRepo.findSession(gptId, sessionId, db))) throw ERR.notFound('Session', sessionId)
  throw ERR.conflict('A generation is running for this session.')
}
