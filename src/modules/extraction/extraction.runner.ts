import { LlmError, type LlmProvider } from '../../platform/llm/index.js'
import type { MessagesService } from '../chat/messages.service.js'
import { applyDecisions, knownMemories, planOffline, type MemoryPorts, type PlannedDecision } from './extraction.apply.js'
import type { Semaphore } from './extraction.dispatch.js'
import { askLlm, BadOutputError } from './extraction.llm.js'
import type { ExtractionMetrics } from './extraction.metrics.js'
import { extractOffline } from './extraction.offline.js'
import type { ExtractionRepository, ExtractionRunRow } from './extraction.repo.js'
import type { DecisionView } from './extraction.schemas.js'

/** Known memories shown to the LLM with the new messages. */
const KNOWN_MEMORIES = 12

export interface ExtractionLimits {
  runsPerDay: number
  tokensPerDay: number
  maxMessages: number
  maxMemoryChars: number
}

export interface RunnerDeps {
  repo: ExtractionRepository
  messages: MessagesService
  ports: MemoryPorts
  llm: LlmProvider
  limits: ExtractionLimits
  metrics: ExtractionMetrics
  /** Bounds the LLM calls of this process (EXTRACTION_CONCURRENCY). */
  llmSlots: Semaphore
}

export type RunOutcome =
  | { kind: 'done'; run: ExtractionRunRow; more: boolean }
  | { kind: 'failed'; run: ExtractionRunRow }
  | { kind: 'waiting'; retryAfterMs: number; firstWait: boolean }
  | { kind: 'busy' }
  | { kind: 'gone' }

export function startOfUtcDay(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()))
}

/** The extractor this service uses: the configured LLM when it can answer in JSON, else the offline rules. */
export function extractorName(llm: LlmProvider): string {
  return llm.completeJson ? `llm:${llm.name}/${llm.defaultModel}` : 'offline'
}

/** Why the GPT's budget stops a run today, or null when it does not. */
async function overBudget(deps: RunnerDeps, gptId: string, now: Date): Promise<string | null> {
  const { runsPerDay, tokensPerDay } = deps.limits
  const used = await deps.repo.usageSince(gptId, startOfUtcDay(now))
  if (used.runs >= runsPerDay) return `This GPT started its ${runsPerDay} extraction runs of today (EXTRACTION_RUNS_PER_DAY); the run starts after 00:00 UTC.`
  if (deps.llm.completeJson && used.tokens >= tokensPerDay) {
    return `This GPT spent ${used.tokens} of its ${tokensPerDay} LLM tokens of today on extraction (EXTRACTION_TOKENS_PER_DAY); the run starts after 00:00 UTC.`
  }
  return null
}

/** Reads the session's new messages, decides per fact, writes the memories, and moves the cursor. */
export async function executeRun(deps: RunnerDeps, gptId: string, runId: string, signal?: AbortSignal): Promise<RunOutcome> {
  const now = new Date()
  const pending = await deps.repo.findRun(gptId, runId)
  if (!pending || pending.status === 'done' || pending.status === 'failed') return { kind: 'gone' }
  if (pending.status !== 'running') {
    const reason = await overBudget(deps, gptId, now)
    if (reason !== null) {
      const firstWait = pending.status !== 'waiting_budget'
      if (firstWait) deps.metrics.run('waiting_budget')
      await deps.repo.markWaiting(gptId, runId, reason)
      // A minute into the next day, so that the clocks of the database and this process need not agree to the second.
      return { kind: 'waiting', retryAfterMs: startOfUtcDay(now).getTime() + 86_400_000 + 60_000 - now.getTime(), firstWait }
    }
  }
  const run = await deps.repo.claimRun(gptId, runId)
  if (run === 'busy') return { kind: 'busy' }
  if (run === null) return { kind: 'gone' }
  const cursor = await deps.repo.cursor(gptId, run.session_id)
  const rows = await deps.messages.completeMessagesAfter(gptId, run.session_id, cursor, deps.limits.maxMessages)
  const messages = rows.map((row) => ({ id: row.id, sender: row.sender, content: row.content }))
  const extractor = extractorName(deps.llm)
  const base = { extractor, from_message_id: rows[0]?.id ?? null, to_message_id: rows.at(-1)?.id ?? null, messages_read: rows.length }
  let usage = { in: 0, out: 0, attempts: 0 }
  try {
    let planned: PlannedDecision[] = []
    if (rows.length > 0 && deps.llm.completeJson) {
      const llm = { ...deps.llm, completeJson: deps.llm.completeJson.bind(deps.llm) }
      const said = messages.filter((message) => message.sender === 'user').map((message) => message.content).join('\n')
      const known = await knownMemories(deps.ports, gptId, run.user_id, said, KNOWN_MEMORIES)
      const answer = await deps.llmSlots.run(() =>
        askLlm(llm, { messages, known }, {
          maxChars: deps.limits.maxMemoryChars,
          ...(signal ? { signal } : {}),
          spent: async ({ input, output }) => {
            usage = { in: usage.in + input, out: usage.out + output, attempts: usage.attempts + 1 }
            deps.metrics.spent(input, output)
            await deps.repo.addUsage(gptId, runId, input, output)
          },
        }),
      )
      planned = answer.decisions.map((decision) => ({ action: decision.action, content: decision.content, target: decision.memory_id, message_ids: decision.message_ids }))
    } else if (rows.length > 0) {
      planned = await planOffline(deps.ports, gptId, run.user_id, extractOffline(messages))
    }
    const decisions = await applyDecisions(deps.ports, run, planned)
    const last = rows.at(-1)
    const finished = await deps.repo.finishRun(
      gptId,
      runId,
      { ...base, status: 'done', reason: null, decisions, summary: summarize(decisions), tokens_in: usage.in, tokens_out: usage.out, attempts: usage.attempts },
      last ? { sessionId: run.session_id, messageId: last.id, createdAt: last.created_at } : null,
    )
    deps.metrics.run('done')
    return { kind: 'done', run: finished ?? run, more: rows.length === deps.limits.maxMessages }
  } catch (error) {
    if (!(error instanceof LlmError || error instanceof BadOutputError)) deps.ports.log.warn({ err: error, run_id: runId }, 'extraction run failed')
    const reason = error instanceof LlmError || error instanceof BadOutputError ? error.message : 'The run failed on an internal error (see the log).'
    // The cursor stays: the messages are read again by the next run.
    const finished = await deps.repo.finishRun(
      gptId,
      runId,
      { ...base, status: 'failed', reason, decisions: [], summary: summarize([]), tokens_in: usage.in, tokens_out: usage.out, attempts: usage.attempts },
      null,
    )
    deps.metrics.run('failed')
    return { kind: 'failed', run: finished ?? run }
  }
}

export function summarize(decisions: readonly Pick<DecisionView, 'action'>[]): Record<'add' | 'update' | 'supersede' | 'none', number> {
  const counts = { add: 0, update: 0, supersede: 0, none: 0 }
  for (const decision of decisions) counts[decision.action]++
  return counts
}
