import type { LlmProvider } from '../../platform/llm/index.js'
import type { GenerationHub } from './generation.hub.js'
import type { GenerationRepository } from './generation.repo.js'
import type { MessageRow } from './messages.repo.js'

/** A generation this process runs: the text so far, and how to stop it (and why). */
export interface LiveGeneration {
  gptId: string
  sessionId: string
  id: string
  text: string
  controller: AbortController
  abortReason: string
  /** Stopped on request (POST /v1/messages/{id}/cancel): stored cancelled rather than failed. */
  cancelled: boolean
}

interface RunDeps {
  repo: GenerationRepository
  hub: GenerationHub
  llm: LlmProvider
  partialSaveMs: number
  /** How long the session's lease lasts without renewal (GENERATION_LEASE_SECONDS); renewed every third of it. */
  leaseMs: number
  log: { warn(object: object, message: string): void }
}

/**
 * Streams the reply from the provider into `live.text`, telling followers each delta, saving the
 * text at least every `partialSaveMs` and renewing the session's lease meanwhile; then stores the
 * message complete, cancelled (stopped on request) or failed, with what it had. Resolves to the stored row (null when it could not
 * be stored); never rejects.
 */
export async function runGeneration(deps: RunDeps, live: LiveGeneration, request: Parameters<LlmProvider['stream']>[0]): Promise<MessageRow | null> {
  const { repo, hub, log } = deps
  const { gptId, sessionId, id } = live
  let saved = live.text.length
  let saving: Promise<void> | null = null
  const save = () => {
    if (saving || live.text.length === saved) return
    const text = live.text
    saving = repo
      .savePartial(gptId, id, text)
      .then(() => {
        saved = text.length
        hub.announce(gptId, id)
      })
      .catch((error: unknown) => log.warn({ err: error }, 'could not save the partial reply'))
      .finally(() => {
        saving = null
      })
  }
  const saver = setInterval(save, deps.partialSaveMs)
  const renewer = setInterval(() => {
    repo.renewLease(gptId, sessionId, id, deps.leaseMs).catch((error: unknown) => log.warn({ err: error }, 'could not renew a generation lease'))
  }, deps.leaseMs / 3)
  try {
    try {
      for await (const delta of deps.llm.stream({ ...request, signal: live.controller.signal })) {
        const offset = live.text.length
        live.text += delta
        hub.emit(id, { type: 'delta', offset, text: delta })
      }
      clearInterval(saver)
      await saving
      return await repo.complete(gptId, id, live.text)
    } catch (error) {
      clearInterval(saver)
      await saving
      if (live.controller.signal.aborted && live.cancelled) return await repo.cancel(gptId, id, live.text)
      const reason = live.controller.signal.aborted ? live.abortReason : error instanceof Error ? error.message : String(error)
      return await repo.fail(gptId, id, live.text, reason)
    }
  } catch (error) {
    log.warn({ err: error }, 'could not store the end of a generation')
    return null
  } finally {
    clearInterval(saver)
    clearInterval(renewer)
    await repo.releaseLease(gptId, sessionId, id).catch((error: unknown) => log.warn({ err: error }, 'could not release a generation lease'))
  }
}
