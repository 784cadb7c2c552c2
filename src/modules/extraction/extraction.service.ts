import { uuidv7 } from 'uuidv7'
import type { ExtractionTrigger } from '../../platform/db/tables.js'
import { ERR } from '../../platform/errors.js'
import { pageRequest, toPage, type Page, type SortOrder } from '../../platform/http/pagination.js'
import { timeIdAfter } from '../../platform/http/seek.js'
import type { WrittenMessage } from '../chat/messages.schemas.js'
import type { MessagesService } from '../chat/messages.service.js'
import type { SessionsService } from '../chat/sessions.service.js'
import type { AutoExtractionCache } from './extraction.auto-cache.js'
import type { RunDispatcher } from './extraction.dispatch.js'
import type { ExtractionRepository, ExtractionRunRow } from './extraction.repo.js'
import { executeRun, summarize, type RunnerDeps, type RunOutcome } from './extraction.runner.js'
import type { DecisionView, ExtractionRunView } from './extraction.schemas.js'

/** A run another run of its session holds back is tried again this much later. */
const BUSY_RETRY_MS = 5_000
const SWEEP_BATCH = 200

export function toRunView(row: ExtractionRunRow): ExtractionRunView {
  const summary = { ...summarize([]), ...row.summary }
  return {
    id: row.id,
    gpt_id: row.gpt_id,
    session_id: row.session_id,
    user_id: row.user_id,
    trigger: row.trigger,
    status: row.status,
    reason: row.reason,
    extractor: row.extractor,
    from_message_id: row.from_message_id,
    to_message_id: row.to_message_id,
    messages_read: row.messages_read,
    decisions: row.decisions as unknown as DecisionView[],
    summary: { add: summary.add, update: summary.update, supersede: summary.supersede, none: summary.none },
    tokens_in: row.tokens_in,
    tokens_out: row.tokens_out,
    attempts: row.attempts,
    created_at: row.created_at.toISOString(),
    started_at: row.started_at?.toISOString() ?? null,
    finished_at: row.finished_at?.toISOString() ?? null,
  }
}

export interface ExtractionDeps extends RunnerDeps {
  sessions: SessionsService
  messages: MessagesService
  /** Which characters of a GPT extract automatically (cached: most GPTs have none). */
  auto: Pick<AutoExtractionCache, 'characters'>
  /** Set once the service exists (the local dispatcher calls back into it). */
  dispatcher: () => RunDispatcher
  defaultPageSize: number
  log: { warn(object: object, message: string): void }
}

export class ExtractionService {
  private readonly noticing = new Set<Promise<void>>()

  constructor(private readonly deps: ExtractionDeps) {}

  /** Queues a run for the session's new messages, or answers the run already waiting to start (coalesced). */
  async requestRun(gptId: string, sessionId: string, user: string | null, trigger: ExtractionTrigger = 'request'): Promise<{ run: ExtractionRunView; created: boolean }> {
    const session = await this.deps.sessions.getSession(gptId, sessionId, user)
    const { run, created } = await this.deps.repo.queueRun({ gpt_id: gptId, id: uuidv7(), session_id: session.id, user_id: session.user_id, trigger })
    if (created) await this.dispatch(gptId, run.id)
    return { run: toRunView(run), created }
  }

  async getRun(gptId: string, id: string, user: string | null): Promise<ExtractionRunView> {
    const row = await this.deps.repo.findRun(gptId, id)
    if (!row || (user !== null && row.user_id !== user)) throw ERR.notFound('Extraction', id)
    return toRunView(row)
  }

  async listRuns(gptId: string, sessionId: string, query: { limit?: number; cursor?: string; order?: SortOrder }, user: string | null): Promise<Page<ExtractionRunView>> {
    await this.deps.sessions.getSession(gptId, sessionId, user)
    const page = pageRequest(query, `extractions:${gptId}/${sessionId}`, { defaultPageSize: this.deps.defaultPageSize, order: 'desc' })
    const rows = await this.deps.repo.listRuns(gptId, sessionId, { ...page, after: timeIdAfter(page) })
    const result = toPage(rows, page, (row) => [row.created_at.toISOString(), row.id])
    return { ...result, items: result.items.map(toRunView) }
  }

  /** Runs the run now (the job's handler, or this process without a queue), and dispatches what follows it. */
  async execute(gptId: string, runId: string, signal?: AbortSignal): Promise<RunOutcome> {
    const outcome = await executeRun(this.deps, gptId, runId, signal)
    // One delayed dispatch per wait: a run the sweep finds still over budget waits for that one (or the next sweep).
    if (outcome.kind === 'waiting' && outcome.firstWait) await this.dispatch(gptId, runId, outcome.retryAfterMs)
    else if (outcome.kind === 'busy') await this.dispatch(gptId, runId, BUSY_RETRY_MS)
    else if (outcome.kind === 'done' && outcome.more) await this.requestRun(gptId, outcome.run.session_id, null, outcome.run.trigger)
    return outcome
  }

  /** Waiting runs, and queued runs whose dispatch was lost, dispatched again (a run over budget just waits again). */
  async sweep(): Promise<number> {
    const runs = await this.deps.repo.runsToRetry(SWEEP_BATCH)
    for (const run of runs) await this.dispatch(run.gpt_id, run.id)
    return runs.length
  }

  /**
   * Automatic extraction, told of every message written: a user message in a session whose character
   * has `extraction.auto` queues a run once `every_turns` user messages came after the last run's.
   * Only user messages count, and a GPT with no such character costs no database read (cached).
   * Off the request path; failures are logged.
   */
  noticeMessages(gptId: string, messages: readonly WrittenMessage[]): void {
    // Session → its character when the write knew it (undefined: read it if it matters).
    const sessions = new Map<string, string | null | undefined>()
    for (const message of messages) if (message.sender === 'user') sessions.set(message.session_id, message.session_character_id)
    if (sessions.size === 0) return
    const work = this.notice(gptId, sessions)
      .catch((error: unknown) => this.deps.log.warn({ err: error }, 'automatic extraction could not check the session'))
      .finally(() => this.noticing.delete(work))
    this.noticing.add(work)
  }

  private async notice(gptId: string, sessions: Map<string, string | null | undefined>): Promise<void> {
    const auto = await this.deps.auto.characters(gptId)
    if (auto.size === 0) return
    for (const [sessionId, known] of sessions) {
      const characterId = known !== undefined ? known : ((await this.deps.sessions.findSession(gptId, sessionId))?.character_id ?? null)
      const everyTurns = characterId === null ? undefined : auto.get(characterId)
      if (everyTurns === undefined) continue
      if (await this.deps.repo.hasOpenRun(gptId, sessionId)) continue
      const turns = await this.deps.messages.countUserMessagesAfter(gptId, sessionId, await this.deps.repo.cursor(gptId, sessionId))
      if (turns >= everyTurns) await this.requestRun(gptId, sessionId, null, 'auto')
    }
  }

  private async dispatch(gptId: string, runId: string, delayMs?: number): Promise<void> {
    try {
      await this.deps.dispatcher().dispatch(gptId, runId, delayMs)
    } catch (error) {
      // The run stays queued (or waiting); the sweep dispatches it again.
      this.deps.log.warn({ err: error, run_id: runId }, 'could not dispatch an extraction run; the sweep will')
    }
  }

  /** Resolves once no check of automatic extraction and no run dispatched in this process is under way. */
  async idle(): Promise<void> {
    do {
      while (this.noticing.size > 0) await Promise.allSettled([...this.noticing])
      await this.deps.dispatcher().idle()
    } while (this.noticing.size > 0)
  }

  /** Waits for the checks of automatic extraction and the runs of this process. */
  async close(): Promise<void> {
    while (this.noticing.size > 0) await Promise.allSettled([...this.noticing])
    await this.deps.dispatcher().close()
  }
}
