import type { Kysely } from 'kysely'
import { uuidv7 } from 'uuidv7'
import type { JsonValue, Tables } from '../../platform/db/tables.js'
import { ERR } from '../../platform/errors.js'
import type { LlmProvider } from '../../platform/llm/index.js'
import type { CharactersService } from '../characters/characters.service.js'
import type { CharacterView } from '../characters/characters.schemas.js'
import { INTERRUPTED, type GenerationRepository } from './generation.repo.js'
import { runGeneration, type LiveGeneration } from './generation.run.js'
import type { GenerationHub } from './generation.hub.js'
import { buildPrompt, type RecalledMemory } from './generation.prompt.js'
import type { MessageRow, MessagesRepository } from './messages.repo.js'
import type { MessageView } from './messages.schemas.js'
import { toMessageView } from './messages.service.js'
import type { SessionsRepository } from './sessions.repo.js'
import { ownUser } from '../../platform/auth/principal.js'
import type { SessionsService } from './sessions.service.js'
import type { SessionView } from './sessions.schemas.js'

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

/** Finds memories for a character that has memory enabled (the search module); null when there is none. */
export type RecallMemories = (gptId: string, query: string, settings: { top_k: number; entity_type: string | null; user_id: string }) => Promise<RecalledMemory[]>

interface Running extends LiveGeneration {
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
  recall: RecallMemories | null
  limits: { chatHistoryMessages: number; partialSaveMs: number; generationLeaseMs: number }
  log: { warn(object: object, message: string): void }
  /** Told the messages a chat stored once they are final (the user's at the start, the reply at its end), to be embedded. */
  written?: (gptId: string, ids: string[]) => void
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
    const session = await this.deps.sessions.getSession(gptId, sessionId, user)
    const character = await this.character(gptId, input.character_id ?? session.character_id, input.character_id !== undefined)
    const history = await this.deps.repo.historyBefore(gptId, sessionId, null, this.deps.limits.chatHistoryMessages)
    return this.begin(gptId, session, character, history, input.model, null)
  }

  /** Stores the user's message and generates the reply, in a new session when none is named. */
  async chat(gptId: string, input: ChatInput, user: string | null = null): Promise<Started & { sessionId: string }> {
    const userId = ownUser(user, input.user_id, '/user_id', 'body')
    const character = await this.character(gptId, input.character_id, true)
    let session: SessionView
    if (input.session_id !== undefined) {
      const found = await this.deps.sessions.findSession(gptId, input.session_id, user)
      if (!found) throw ERR.validation('No such session in this GPT.', [{ pointer: '/session_id', location: 'body', message: 'no such session' }])
      if (userId !== undefined && userId !== found.user_id) {
        throw ERR.validation('The session belongs to another end user.', [
          { pointer: '/user_id', location: 'body', message: "differs from the session's user_id (leave it out to continue the session)" },
        ])
      }
      session = found
    } else {
      if (userId === undefined) {
        throw ERR.validation('A new chat needs the end user it belongs to.', [
          { pointer: '/user_id', location: 'body', message: 'required when session_id is not given' },
        ])
      }
      session = await this.deps.sessions.createSession(gptId, { user_id: userId, character_id: character!.id }, user)
    }
    const userMessage = { sender: 'user' as const, content: input.content, context: (input.context ?? null) as JsonValue | null }
    const history = await this.deps.repo.historyBefore(gptId, session.id, null, Math.max(0, this.deps.limits.chatHistoryMessages - 1))
    const started = await this.begin(gptId, session, character, history, input.model, userMessage)
    return { ...started, sessionId: session.id }
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
    if (!(await this.deps.repo.acquireLease(this.deps.db, gptId, sessionId, last.id, this.deps.limits.generationLeaseMs))) await this.refuseLease(this.deps.db, gptId, sessionId)
    const model = input.model ?? (input.character_id !== undefined ? character?.model : null) ?? last.model ?? this.deps.llm.defaultModel
    return this.launch(gptId, session, last, character, history, model, last.partial_content)
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

  /**
   * Why the lease could not be had: the session is gone (404), or a generation holds it (409). Read on
   * `db`, the caller's transaction when there is one (PGlite has one connection: another would wait forever).
   */
  private async refuseLease(db: Kysely<Tables>, gptId: string, sessionId: string): Promise<never> {
    if (!(await this.deps.sessionsRepo.findSession(gptId, sessionId, db))) throw ERR.notFound('Session', sessionId)
    throw ERR.conflict('A generation is running for this session.')
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

  /**
   * Takes the session's lease, stores the user message (chat) and a pending AI message in one
   * transaction (409 and nothing stored when a generation is running), then starts generating.
   */
  private async begin(
    gptId: string,
    session: SessionView,
    character: CharacterView | null,
    history: MessageRow[],
    model: string | undefined,
    userMessage: { sender: 'user'; content: string; context: JsonValue | null } | null,
  ): Promise<Started> {
    const chosenModel = model ?? character?.model ?? this.deps.llm.defaultModel
    // Both rows get the transaction's now(): their ids (time-ordered) keep the user's message first.
    const userId = uuidv7()
    const id = uuidv7()
    const { ai, user } = await this.deps.db.transaction().execute(async (trx) => {
      if (!(await this.deps.repo.acquireLease(trx, gptId, session.id, id, this.deps.limits.generationLeaseMs))) await this.refuseLease(trx, gptId, session.id)
      const base = { gpt_id: gptId, session_id: session.id, partial_content: '', error_message: null }
      const user = userMessage
        ? await this.deps.messagesRepo.insertMessage({ ...base, ...userMessage, id: userId, status: 'complete', model: null, character_id: null }, trx)
        : null
      const ai = await this.deps.messagesRepo.insertMessage(
        { ...base, id, sender: 'ai', content: '', context: null, status: 'pending', model: chosenModel, character_id: character?.id ?? session.character_id },
        trx,
      )
      return { ai, user }
    })
    if (user) this.deps.written?.(gptId, [user.id])
    return this.launch(gptId, session, ai, character, user ? [...history, user] : history, chosenModel, '')
  }

  private async launch(
    gptId: string,
    session: SessionView,
    message: MessageRow,
    character: CharacterView | null,
    history: MessageRow[],
    model: string | undefined,
    continueFrom: string,
  ): Promise<Started> {
    const memories = await this.recallFor(gptId, session, character, history)
    const context = memories ? ({ memories } as unknown as JsonValue) : undefined
    const characterId = character?.id ?? message.character_id
    const started = await this.deps.repo.start(gptId, message.id, message.status, { partial: continueFrom, model: model ?? null, characterId }, context)
    if (!started) {
      await this.deps.repo.releaseLease(gptId, session.id, message.id)
      throw ERR.conflict('The message changed while the generation was starting; read it again.')
    }
    const prompt = buildPrompt({ agentRole: character?.agent_role ?? null, history, memories: memories ?? undefined })
    const running: Running = {
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
        if (view?.status === 'complete') this.deps.written?.(gptId, [view.id])
        // Followers here hear the end at once; the other processes read the stored message again.
        this.deps.hub.emit(message.id, view ? { type: 'done', message: view } : { type: 'changed' })
        this.deps.hub.announce(gptId, message.id)
        return view
      })
      .finally(() => this.running.delete(message.id))
    return { message: toMessageView(started), offset: continueFrom.length, finished: running.finished }
  }

  /** Memories for a character with memory enabled, recalled by the latest user message. */
  private async recallFor(gptId: string, session: SessionView, character: CharacterView | null, history: MessageRow[]): Promise<RecalledMemory[] | null> {
    if (!character?.memory.enabled || !this.deps.recall) return null
    const query = [...history].reverse().find((message) => message.sender === 'user')?.content
    if (!query) return null
    try {
      return await this.deps.recall(gptId, query, { top_k: character.memory.top_k, entity_type: character.memory.entity_type, user_id: session.user_id })
    } catch (error) {
      // A reply without memories beats no reply.
      this.deps.log.warn({ err: error }, 'could not recall memories for a chat reply')
      return null
    }
  }
}
