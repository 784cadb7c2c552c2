import type { Kysely } from 'kysely'
import { uuidv7 } from 'uuidv7'
import type { JsonValue, MessageSender, MessageStatus, Tables } from '../../platform/db/tables.js'
import { ERR, type FieldError } from '../../platform/errors.js'
import { checkOffset, pageRequest, toPage, type Page, type SortOrder } from '../../platform/http/pagination.js'
import { timeIdAfter } from '../../platform/http/seek.js'
import { requestFingerprint, type IdempotencyStore } from '../../platform/idempotency.js'
import { exceedsDepth } from '../../platform/json-depth.js'
import type { MessageChange, MessageRow, MessagesRepository, NewMessageRow } from './messages.repo.js'
import type { CreateMessageInput, MessagesWritten, MessageView, PatchMessageInput, WrittenMessage } from './messages.schemas.js'
import type { SessionsRepository } from './sessions.repo.js'
import type { SessionsService } from './sessions.service.js'

export function toMessageView(row: MessageRow): MessageView {
  return {
    id: row.id,
    session_id: row.session_id,
    gpt_id: row.gpt_id,
    sender: row.sender,
    content: row.content,
    context: row.context,
    status: row.status,
    partial_content: row.partial_content,
    error_message: row.error_message,
    model: row.model,
    character_id: row.character_id,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  }
}

/** A message to add to a session (what POST takes, plus what generation sets itself). */
export interface NewMessage {
  sender: MessageSender
  content?: string
  context?: unknown
  /** AI messages only; default complete. */
  status?: MessageStatus
  partial_content?: string
  error_message?: string | null
  model?: string | null
  /** Default: the session's character for AI messages, none for the others. */
  character_id?: string | null
}

/** The status changes an AI message may make; everything else is a 409. */
export const MESSAGE_TRANSITIONS: Record<MessageStatus, readonly MessageStatus[]> = {
  pending: ['pending', 'in_progress', 'failed'],
  in_progress: ['in_progress', 'complete', 'failed'],
  failed: ['in_progress'],
  // Only POST /v1/messages/{id}/cancel cancels: it also stops the generation that writes the message.
  cancelled: ['in_progress'],
  complete: [],
}

export const canTransition = (from: MessageStatus, to: MessageStatus) => MESSAGE_TRANSITIONS[from].includes(to)

const UPDATE_ATTEMPTS = 5

/** A checked new message; without `character_id`, the session's decides. */
type PreparedMessage = Omit<NewMessageRow, 'gpt_id' | 'session_id' | 'id' | 'character_id'> & { character_id?: string | null }

const field = (pointer: string, message: string): FieldError => ({ pointer, location: 'body', message })

export interface MessagesLimits {
  defaultPageSize: number
  maxJsonDepth: number
}

export class MessagesService {
  constructor(
    private readonly db: Kysely<Tables>,
    private readonly repo: MessagesRepository,
    private readonly sessionsRepo: SessionsRepository,
    private readonly sessions: SessionsService,
    private readonly idempotency: IdempotencyStore,
    private readonly limits: MessagesLimits,
    /** Runs after a PATCH lands, so that followers of the message (its stream) see a client's own progress. */
    private readonly afterUpdate: (gptId: string, id: string) => void = () => {},
    /** Told the messages a write stored, once it is committed (they are to be embedded, and counted for extraction). */
    private readonly written: MessagesWritten = () => {},
  ) {}

  /** POST /v1/sessions/{id}/messages, at most once per Idempotency-Key. */
  async createMessage(
    gptId: string,
    sessionId: string,
    input: CreateMessageInput,
    idempotencyKey: string | null = null,
    user: string | null = null,
  ): Promise<{ message: MessageView; replayed: boolean }> {
    await this.ownSession(gptId, sessionId, user)
    const prepared = this.prepare(input)
    if (idempotencyKey === null) {
      const { message, written } = await this.insertPrepared(gptId, sessionId, prepared, this.db)
      this.written(gptId, [written])
      return { message, replayed: false }
    }
    const fingerprint = requestFingerprint('POST', `sessions/${sessionId}/messages`, input)
    let written: WrittenMessage | null = null
    const stored = await this.idempotency.run(gptId, idempotencyKey, fingerprint, async (trx) => {
      const inserted = await this.insertPrepared(gptId, sessionId, prepared, trx)
      written = inserted.written
      return { status: 201, body: inserted.message, headers: {} }
    })
    if (!stored.replayed && written) this.written(gptId, [written])
    return { message: stored.body as MessageView, replayed: stored.replayed }
  }

  /**
   * Adds a message to the session and marks activity on it (`last_activity_at`), in one transaction.
   * Checks the sender/status rules (422); a missing session is a 404. Content length is checked by
   * the route's schema, not here.
   */
  async insertMessage(gptId: string, sessionId: string, message: NewMessage): Promise<MessageView> {
    return (await this.insertPrepared(gptId, sessionId, this.prepare(message), this.db)).message
  }

  /** `user`: the end user the caller is confined to (null: the whole GPT); another user's message is a 404. */
  async getMessage(gptId: string, id: string, user: string | null = null): Promise<MessageView> {
    const row = await this.repo.findMessage(gptId, id)
    if (!row || !(await this.sessionOf(gptId, row.session_id, user))) throw ERR.notFound('Message', id)
    return toMessageView(row)
  }

  /** Oldest first by default; the session must exist in the GPT (404). With `offset`, the page starts there and carries the total. */
  async listMessages(
    gptId: string,
    sessionId: string,
    query: { limit?: number; cursor?: string; order?: SortOrder; offset?: number },
    user: string | null = null,
  ): Promise<Page<MessageView> & { total?: number }> {
    const offset = checkOffset(query)
    await this.sessions.getSession(gptId, sessionId, user)
    const page = pageRequest(query, `messages:${gptId}/${sessionId}`, { defaultPageSize: this.limits.defaultPageSize, order: 'asc' })
    const [rows, total] = await Promise.all([
      this.repo.listMessages(gptId, sessionId, { ...page, after: timeIdAfter(page), offset: offset ?? 0 }),
      offset === null ? undefined : this.repo.countMessages(gptId, sessionId),
    ])
    const result = toPage(rows, page, (row) => [row.created_at.toISOString(), row.id])
    return { ...result, items: result.items.map(toMessageView), ...(total === undefined ? {} : { total }) }
  }

  /** An end user reaches only the messages of their own sessions (a session's user never changes). */
  private async sessionOf(gptId: string, sessionId: string, user: string | null): Promise<boolean> {
    return user === null || (await this.sessions.findSession(gptId, sessionId, user)) !== null
  }

  private async ownSession(gptId: string, sessionId: string, user: string | null): Promise<void> {
    if (user !== null) await this.sessions.getSession(gptId, sessionId, user)
  }

  /** Complete messages of the session after (created_at, id), oldest first, at most `limit` (extraction reads these). */
  async completeMessagesAfter(gptId: string, sessionId: string, after: [Date, string] | null, limit: number): Promise<MessageRow[]> {
    return this.repo.completeMessagesAfter(gptId, sessionId, after, limit)
  }

  async countUserMessagesAfter(gptId: string, sessionId: string, after: [Date, string] | null): Promise<number> {
    return this.repo.countUserMessagesAfter(gptId, sessionId, after)
  }

  /** The last `limit` messages of the session (every sender and status), oldest first. */
  async recentMessages(gptId: string, sessionId: string, limit: number): Promise<MessageView[]> {
    return (await this.repo.recentMessages(gptId, sessionId, limit)).map(toMessageView)
  }

  /**
   * Changes a message under the status rules (409 for a change they do not allow, 422 for fields the
   * message cannot take). The write only lands while the message still has the status the rules were
   * checked against: of two racing transitions, the loser is checked again against the winner's.
   */
  async updateMessage(gptId: string, id: string, input: PatchMessageInput, user: string | null = null): Promise<MessageView> {
    if (user !== null) await this.getMessage(gptId, id, user)
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      const row = await this.repo.findMessage(gptId, id)
      if (!row) throw ERR.notFound('Message', id)
      const change = this.planChange(row, input)
      const updated = await this.repo.updateMessage(gptId, id, row.status, change)
      if (updated) {
        this.afterUpdate(gptId, id)
        this.written(gptId, [{ id, session_id: updated.session_id, sender: updated.sender }])
        return toMessageView(updated)
      }
    }
    throw ERR.conflict('The message is being changed by other requests; read it again and retry.')
  }

  private async insertPrepared(gptId: string, sessionId: string, prepared: PreparedMessage, db: Kysely<Tables>): Promise<{ message: MessageView; written: WrittenMessage }> {
    const write = async (trx: Kysely<Tables>) => {
      const session = await this.sessionsRepo.touchSession(gptId, sessionId, trx)
      if (!session) throw ERR.notFound('Session', sessionId)
      const { character_id: given, ...fields } = prepared
      const characterId = given !== undefined ? given : fields.sender === 'ai' ? session.character_id : null
      const row = await this.repo.insertMessage({ ...fields, gpt_id: gptId, session_id: sessionId, id: uuidv7(), character_id: characterId }, trx)
      return { row, sessionCharacterId: session.character_id }
    }
    const { row, sessionCharacterId } = db.isTransaction ? await write(db) : await db.transaction().execute(write)
    return { message: toMessageView(row), written: { id: row.id, session_id: row.session_id, sender: row.sender, session_character_id: sessionCharacterId } }
  }

  /** The sender/status rules of a new message; every broken one is listed (422). */
  private prepare(input: NewMessage): PreparedMessage {
    const errors: FieldError[] = []
    const status = input.status ?? 'complete'
    let content = input.content ?? ''
    if (input.sender !== 'ai') {
      const only = `only AI messages may have it (this one is from "${input.sender}")`
      if (status !== 'complete') errors.push(field('/status', `must be complete: only AI messages have another status (this one is from "${input.sender}")`))
      if (input.partial_content !== undefined) errors.push(field('/partial_content', only))
      if (input.error_message !== undefined && input.error_message !== null) errors.push(field('/error_message', only))
      if (input.model !== undefined && input.model !== null) errors.push(field('/model', only))
    } else {
      if (input.error_message !== undefined && input.error_message !== null && status !== 'failed') {
        errors.push(field('/error_message', 'may be set only when status is failed'))
      }
      // A complete AI message sent with its partial content only takes that as its content.
      if (status === 'complete' && content === '' && input.partial_content) content = input.partial_content
    }
    if (content === '' && (input.sender !== 'ai' || status === 'complete')) {
      errors.push(field('/content', input.sender === 'ai' ? 'must not be empty when status is complete' : 'must not be empty'))
    }
    this.checkContext(input.context, errors)
    if (errors.length > 0) throw ERR.validation('The message is not valid; see `errors`.', errors)
    return {
      sender: input.sender,
      content,
      context: (input.context ?? null) as JsonValue | null,
      status,
      partial_content: input.partial_content ?? '',
      error_message: status === 'failed' ? (input.error_message ?? null) : null,
      model: input.model ?? null,
      ...(input.character_id !== undefined ? { character_id: input.character_id } : {}),
    }
  }

  /** What a PATCH writes, checked against the message as read. */
  private planChange(row: MessageRow, input: PatchMessageInput): MessageChange {
    const errors: FieldError[] = []
    this.checkContext(input.context, errors)
    if (row.sender !== 'ai') {
      // History is kept as written: only the context of a user, system or tool message may change.
      for (const name of ['status', 'content', 'partial_content', 'error_message'] as const) {
        if (input[name] !== undefined) errors.push(field(`/${name}`, `cannot change on a message from "${row.sender}" (only context can)`))
      }
      if (errors.length > 0) throw ERR.validation('Only the context of this message can change.', errors)
      return { context: input.context as JsonValue | null }
    }
    const from = row.status
    if (from === 'complete') throw ERR.conflict('The message is complete, and complete is final: it cannot change any more.')
    const to = input.status ?? from
    if (!canTransition(from, to)) {
      const allowed = MESSAGE_TRANSITIONS[from].join(', ')
      throw ERR.conflict(`A message cannot go from ${from} to ${to}${input.status === undefined ? ' (a change that keeps the status)' : ''}; from ${from} it can go to: ${allowed}.`)
    }
    if (input.error_message !== undefined && input.error_message !== null && to !== 'failed') {
      errors.push(field('/error_message', 'may be set only when status is failed'))
    }
    const change: MessageChange = { status: to }
    if (input.content !== undefined) change.content = input.content
    if (input.partial_content !== undefined) change.partial_content = input.partial_content
    if (input.context !== undefined) change.context = input.context as JsonValue | null
    if (to === 'complete' && input.content === undefined) {
      if (input.partial_content) change.content = input.partial_content
      else change.contentFromPartial = true
    }
    if (to === 'complete') {
      const final = input.content ?? (input.partial_content || row.partial_content || row.content)
      if (final === '') errors.push(field('/content', 'must not be empty when status is complete (send content, or partial_content first)'))
    }
    if (to === 'failed') {
      if (input.error_message !== undefined) change.error_message = input.error_message
    } else {
      change.error_message = null
    }
    if (errors.length > 0) throw ERR.validation('The change is not valid; see `errors`.', errors)
    return change
  }

  private checkContext(context: unknown, errors: FieldError[]): void {
    if (context !== undefined && exceedsDepth(context, this.limits.maxJsonDepth)) {
      errors.push(field('/context', `must not nest deeper than ${this.limits.maxJsonDepth} levels (MAX_JSON_DEPTH)`))
    }
  }
}
