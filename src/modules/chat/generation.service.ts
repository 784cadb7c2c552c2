import type { Kysely } from 'kysely'
import type { JsonValue, Tables } from '../../platform/db/tables.js'
import { ERR } from '../../platform/errors.js'
import { requestFingerprint, type IdempotencyStore } from '../../platform/idempotency.js'
import type { LlmProvider } from '../../platform/llm/index.js'
import type { CharactersService } from '../characters/characters.service.js'
import type { CharacterView } from '../characters/characters.schemas.js'
import { INTERRUPTED, type GenerationRepository } from './generation.repo.js'
import { runGeneration, type LiveGeneration } from './generation.run.js'
import type { GenerationHub } from './generation.hub.js'
import { buildPrompt, memoryContext, recallFor, type RecalledMemory, type RecallMemories } from './generation.prompt.js'
import type { MessageRow, MessagesRepository } from './messages.repo.js'
import type { MessagesWritten, MessageView } from './messages.schemas.js'
import { toMessageView } from './messages.service.js'
import type { SessionsRepository } from './sessions.repo.js'
import { ownUser } from '../../platform/auth/principal.js'
import type { SessionsService } from './sessions.service.js'
import { chatTarget, refuseLease, storeReply, type GenerationSession, type Stored } from './generation.store.js'
import { inOrder, untilSettled } from './generation.wait.js'

const STOPPED = 'interrupted: the service stopped during the generation; resume it to continue'

export interface GenerateInput {
  character_id?: string
  model?: string
}

export interface ChatInput {
  character_id: string
  session_id?: string
  user_id?: string
  content: string
  context?: unknown
  model?: string
}

/** A generation under way: the AI message as it started, and its end (never rejects). */
export interface Started {
  message: MessageView
  /** Where the new text starts: 0, or the length of the text a resume continues. */
  offset: number
  finished: Promise<MessageView | null>
}

export type { RecallMemories }

/** A generation to start: the AI message of a session, the character and history it is made from, and the text it continues ('' for a new reply). */
interface GenerationPlan {
  gptId: string
  session: GenerationSession
  message: MessageRow
  character: CharacterView | null
  history: MessageRow[]
  model: string | undefined
  continueFrom: string
}

interface Running extends LiveGeneration {
  /** The message as it was stored when the generation started. */
  started: MessageView
  finished: Promise<MessageView | null>
}

interface Deps {
  db: Kysely<Tables>
  repo: GenerationRepository
  messagesRepo: MessagesRepository
  sessionsRepo: SessionsRepository
  sessions: SessionsService
  characters: CharactersService
  llm: LlmProvider
  hub: GenerationHub
  idempotency: IdempotencyStore
  recall: RecallMemories | null
  limits: { chatHistoryMessages: number; partialSaveMs: number; generationLeaseMs: number }
  log: { warn(object: object, message: string): void }
  /** Told the messages a chat stored once they are final (the user's at the start, the reply at its end), to be embedded. */
  written?: MessagesWritten
}

/**
 * Generates AI replies through the configured LLM provider, detached from the request that asked:
 * a client that disconnects does not stop it. Text is saved as it arrives (at least every
 * PARTIAL_SAVE_MS) and followers hear each delta; a failure keeps what was generated for resume.
 */
export class GenerationService {
  private readonly running = new Map<string, Running>()

  constructor(private readonly deps: Deps) {
    deps.hub.onCancel((gptId, id) => void this.stopHere(gptId, id))
  }

  /** For the start log: which provider and default model answer. */
  get llm(): string {
    return `${this.deps.llm.name} (${this.deps.llm.defaultModel})`
  }

  /** `user` (here and below): the end user the caller is confined to; null: the whole GPT. */
  async generate(gptId: string, sessionId: string, input: GenerateInput, user: string | null = null): Promise<Started> {
    // The reads before the provider is called run together (the history of a session the caller may not see is dropped with the 404).
    const [session, history, named] = await inOrder(
      this.deps.sessions.getSession(gptId, sessionId, user),
      this.deps.repo.historyBefore(gptId, sessionId, null, this.deps.limits.chatHistoryMessages),
      input.character_id !== undefined ? this.character(gptId, input.character_id, true) : null,
    )
    const character = input.character_id !== undefined ? named : await this.character(gptId, session.character_id, false)
    const memories = await recallFor(this.deps, gptId, session, character, history)
    const stored = await storeReply(this.deps, this.deps.db, gptId, session, character, input.model, null, memoryContext(memories))
    return this.afterStore(gptId, stored, character, history, memories)
  }

  /**
   * Stores the user's message and generates the reply, in a new session when none is named. With an
   * Idempotency-Key, a retry stores nothing again: it answers the reply the first request began —
   * continuing it when it never started or broke off, following it while it runs.
   */
  async chat(gptId: string, input: ChatInput, user: string | null = null, idempotencyKey: string | null = null): Promise<Started & { sessionId: string; replayed: boolean }> {
    const userId = ownUser(user, input.user_id, '/user_id', 'body')
    const sessionId = input.session_id
    // Read together; the history of a session that turns out not to be the caller's is dropped with the error.
    const [character, found, history] = await inOrder(
      this.character(gptId, input.character_id, true),
      sessionId === undefined ? null : this.deps.sessions.findSession(gptId, sessionId, user),
      sessionId === undefined ? [] : this.deps.repo.historyBefore(gptId, sessionId, null, Math.max(0, this.deps.limits.chatHistoryMessages - 1)),
    )
    const target = chatTarget(sessionId !== undefined, found, userId, character)
    const userMessage = { sender: 'user' as const, content: input.content, context: (input.context ?? null) as JsonValue | null }
    const memories = await recallFor(this.deps, gptId, target, character, [...history, userMessage])
    const store = (db: Kysely<Tables>) => storeReply(this.deps, db, gptId, target, character, input.model, userMessage, memoryContext(memories))
    if (idempotencyKey === null) {
      const stored = await store(this.deps.db)
      return { ...(await this.afterStore(gptId, stored, character, history, memories)), sessionId: stored.session.id, replayed: false }
    }
    const { stream: _stream, ...asked } = input as ChatInput & { stream?: boolean }
    let first: Stored | null = null
    const response = await this.deps.idempotency.run(gptId, idempotencyKey, requestFingerprint('POST', 'chat', { ...asked, end_user: user }), async (trx) => {
      const stored = await store(trx)
      first = stored
      return { status: 201, body: { session_id: stored.session.id, message_id: stored.ai.id }, headers: {} }
    })
    // Set by the callback above: TypeScript cannot see that it ran.
    const made = first as Stored | null
    if (!response.replayed && made) return { ...(await this.afterStore(gptId, made, character, history, memories)), sessionId: made.session.id, replayed: false }
    const body = response.body as { session_id: string; message_id: string }
    return { ...(await this.replayChat(gptId, body.session_id, body.message_id, input.model, user)), sessionId: body.session_id, replayed: true }
  }

  /** The reply a chat's first request began, for its retry. */
  private async replayChat(gptId: string, sessionId: string, id: string, model: string | undefined, user: string | null): Promise<Started> {
    await this.deps.sessions.getSession(gptId, sessionId, user)
    const message = await this.currentMessage(gptId, id)
    if (!message) throw ERR.notFoundDetail('The reply that this Idempotency-Key began was deleted.')
    const last = await this.deps.repo.lastAiMessage(gptId, sessionId)
    const live = this.running.has(id) || (await this.deps.repo.leaseHeld(gptId, sessionId, id))
    if ((message.status === 'pending' || message.status === 'failed') && last?.id === id && !live) return this.resume(gptId, sessionId, { model }, user)
    const finished = this.running.get(id)?.finished ?? untilSettled(this.deps.hub, () => this.currentMessage(gptId, id), id, null)
    return { message, offset: 0, finished }
  }

  /** Continues the session's last AI message from the text it kept (pending, failed or cancelled), without regenerating it. */
  async resume(gptId: string, sessionId: string, input: GenerateInput, user: string | null = null): Promise<Started> {
    const session = await this.deps.sessions.getSession(gptId, sessionId, user)
    const last = await this.deps.repo.lastAiMessage(gptId, sessionId)
    if (!last) throw ERR.notFoundDetail('Nothing to resume: this session has no AI message.')
    if (last.status === 'complete') throw ERR.conflict('Nothing to resume: the last AI message of this session is complete.')
    if (this.running.has(last.id)) throw ERR.conflict('A generation is running for this session.')
    const characterId = input.character_id ?? last.character_id ?? session.character_id
    const character = await this.character(gptId, characterId, input.character_id !== undefined)
    const history = await this.deps.repo.historyBefore(gptId, sessionId, last, this.deps.limits.chatHistoryMessages)
    if (!(await this.deps.repo.acquireLease(this.deps.db, gptId, sessionId, last.id, this.deps.limits.generationLeaseMs))) await refuseLease(this.deps, this.deps.db, gptId, sessionId)
    const model = input.model ?? (input.character_id !== undefined ? character?.model : null) ?? last.model ?? this.deps.llm.defaultModel
    return this.restart({ gptId, session, message: last, character, history, model, continueFrom: last.partial_content })
  }

  /** The message as stored, with the text generated so far when this process is generating it. */
  async currentMessage(gptId: string, id: string, user: string | null = null): Promise<MessageView | null> {
    const row = await this.deps.messagesRepo.findMessage(gptId, id)
    if (!row || (user !== null && !(await this.deps.sessions.findSession(gptId, row.session_id, user)))) return null
    const live = this.running.get(id)
    const view = toMessageView(row)
    return live && view.status === 'in_progress' ? { ...view, partial_content: live.text } : view
  }

  /**
   * The message of a generation this process runs, with its text so far, without reading it: what
   * currentMessage would answer while it runs (null when it does not run here, or is being cancelled).
   */
  liveMessage(id: string): MessageView | null {
    const running = this.running.get(id)
    return running && !running.cancelled ? { ...running.started, partial_content: running.text } : null
  }

  /**
   * Marks failed the generations no live process holds ("interrupted"), and tells followers. With `all`
   * (an embedded database: this is the only process) every unfinished one is marked.
   */
  async recoverInterrupted(all: boolean): Promise<number> {
    const marked = await this.deps.repo.failInterrupted(all)
    // Followers (here, and in the other processes) read the message again and see it failed.
    for (const { id, gpt_id: gptId } of marked) {
      this.deps.hub.emit(id, { type: 'changed' })
      this.deps.hub.announce(gptId, id)
    }
    return marked.length
  }

  /** Stops the generation of the message if this process runs it; resolves to the message as then stored. */
  stopHere(gptId: string, id: string): Promise<MessageView | null> | null {
    const running = this.running.get(id)
    if (!running || running.gptId !== gptId) return null
    running.cancelled = true
    running.controller.abort()
    return running.finished
  }

  /** Stops every generation of this process (at shutdown): each is stored failed, with its text, for resume. */
  async close(): Promise<void> {
    for (const running of this.running.values()) {
      running.abortReason = STOPPED
      running.controller.abort()
    }
    await Promise.allSettled([...this.running.values()].map((running) => running.finished))
  }

  private async character(gptId: string, id: string | null | undefined, named: boolean): Promise<CharacterView | null> {
    if (id === null || id === undefined) return null
    const character = await this.deps.characters.findActiveCharacter(gptId, id)
    if (!character && named) {
      throw ERR.validation('No such character in this GPT.', [{ pointer: '/character_id', location: 'body', message: 'no such character (or deleted)' }])
    }
    // A session's character deleted since keeps its history; the reply is made without its prompt.
    return character
  }

  /** A reply stored in progress (storeReply): its generation starts at once. */
  private afterStore(gptId: string, stored: Stored, character: CharacterView | null, history: MessageRow[], memories: RecalledMemory[] | null): Started {
    const { session, ai, user, model } = stored
    if (user) this.deps.written?.(gptId, [{ id: user.id, session_id: session.id, sender: user.sender, session_character_id: session.character_id }])
    return this.launch({ gptId, session, message: ai, character, history: user ? [...history, user] : history, model, continueFrom: '', memories })
  }

  /** Continues a stored message (resume): recalls memories again and marks it in progress, unless it changed meanwhile. */
  private async restart(plan: GenerationPlan): Promise<Started> {
    const { gptId, session, message, character, history, model, continueFrom } = plan
    const memories = await recallFor(this.deps, gptId, session, character, history)
    const characterId = character?.id ?? message.character_id
    const started = await this.deps.repo.start(gptId, message.id, message.status, { partial: continueFrom, model: model ?? null, characterId }, memoryContext(memories) ?? undefined)
    if (!started) {
      await this.deps.repo.releaseLease(gptId, session.id, message.id)
      throw ERR.conflict('The message changed while the generation was starting; read it again.')
    }
    return this.launch({ ...plan, message: started, memories })
  }

  /** Runs the generation of `message` (in progress, holding its session's lease). */
  private launch(plan: GenerationPlan & { memories: RecalledMemory[] | null }): Started {
    const { gptId, session, message, character, history, model, continueFrom, memories } = plan
    const prompt = buildPrompt({ agentRole: character?.agent_role ?? null, history, memories: memories ?? undefined })
    const running: Running = {
      started: toMessageView(message),
      gptId,
      sessionId: session.id,
      id: message.id,
      text: continueFrom,
      controller: new AbortController(),
      abortReason: INTERRUPTED,
      cancelled: false,
      finished: Promise.resolve(null),
    }
    this.running.set(message.id, running)
    const request = { ...prompt, model, temperature: character?.temperature ?? undefined, continueFrom: continueFrom === '' ? undefined : continueFrom }
    running.finished = runGeneration({ ...this.deps, partialSaveMs: this.deps.limits.partialSaveMs, leaseMs: this.deps.limits.generationLeaseMs }, running, request)
      .then(async (final) => {
        const view = final ? toMessageView(final) : await this.currentMessage(gptId, message.id).catch(() => null)
        if (view?.status === 'complete') this.deps.written?.(gptId, [{ id: view.id, session_id: view.session_id, sender: view.sender, session_character_id: session.character_id }])
        // Followers here hear the end at once; the other processes read the stored message again.
        this.deps.hub.emit(message.id, view ? { type: 'done', message: view } : { type: 'changed' })
        this.deps.hub.announce(gptId, message.id)
        return view
      })
      .finally(() => this.running.delete(message.id))
    return { message: running.started, offset: continueFrom.length, finished: running.finished }
  }
}
