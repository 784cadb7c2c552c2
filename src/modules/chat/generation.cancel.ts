import { ERR } from '../../platform/errors.js'
import type { GenerationHub } from './generation.hub.js'
import type { GenerationRepository } from './generation.repo.js'
import type { GenerationService } from './generation.service.js'
import { isUnfinished, untilSettled } from './generation.wait.js'
import type { MessageView } from './messages.schemas.js'
import { toMessageView } from './messages.service.js'

interface Deps {
  generation: GenerationService
  repo: GenerationRepository
  hub: GenerationHub
  /** How long a generation another process runs is given to stop before it is taken for dead (the lease). */
  leaseMs: number
}

/**
 * POST /v1/messages/{id}/cancel: stops the generation of an AI message wherever it runs. The process
 * that runs it stops it and stores it cancelled with the text so far; a message no live process holds
 * (a client's own, or one whose process died) is stored cancelled with the text it last saved.
 * Cancelling a cancelled message answers it again (a retry is safe).
 */
export class GenerationCanceller {
  constructor(private readonly deps: Deps) {}

  async cancel(gptId: string, id: string, user: string | null): Promise<MessageView> {
    const message = await this.deps.generation.currentMessage(gptId, id, user)
    if (!message) throw ERR.notFound('Message', id)
    if (message.sender !== 'ai') throw ERR.conflict(`Only AI messages are generated; this one is from "${message.sender}".`)
    if (message.status === 'cancelled') return message
    if (!isUnfinished(message)) throw ERR.conflict(`The message is ${message.status}: there is no generation to stop.`)
    const read = () => this.deps.generation.currentMessage(gptId, id)
    let settled: MessageView | null
    const local = this.deps.generation.stopHere(gptId, id)
    if (local) settled = await local
    else if (await this.deps.repo.leaseHeld(gptId, message.session_id, id)) {
      // Another process runs it: it hears the request, stops, and stores the message.
      const waiting = untilSettled(this.deps.hub, read, id, this.deps.leaseMs)
      this.deps.hub.requestCancel(gptId, id)
      settled = await waiting
    } else settled = await read()
    if (settled && isUnfinished(settled)) settled = await this.cancelStored(gptId, settled)
    if (!settled) throw ERR.notFound('Message', id)
    if (settled.status !== 'cancelled') throw ERR.conflict(`The message became ${settled.status} before it could be stopped.`)
    return settled
  }

  private async cancelStored(gptId: string, message: MessageView): Promise<MessageView | null> {
    const row = await this.deps.repo.cancelStored(gptId, message.session_id, message.id)
    if (!row) return this.deps.generation.currentMessage(gptId, message.id)
    const view = toMessageView(row)
    this.deps.hub.emit(view.id, { type: 'done', message: view })
    this.deps.hub.announce(gptId, view.id)
    return view
  }
}
