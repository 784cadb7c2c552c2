import { ERR } from '../../platform/errors.js'
import type { Started } from './generation.service.js'
import type { MessageView } from './messages.schemas.js'

/**
 * Waits for the end of a generation: the message once complete, or cancelled (stopped on request, with
 * its text so far); a failed one is a 502 naming the stored message, which resume continues.
 */
export async function finishedMessage(started: Started, sessionId: string): Promise<MessageView> {
  const message = await started.finished
  if (!message) throw ERR.notFoundDetail('The message was deleted while it was being generated.')
  if (message.status !== 'complete' && message.status !== 'cancelled') {
    throw ERR.badGateway(`The LLM provider failed: ${message.error_message ?? 'no reason given'}. What was generated is stored; POST /v1/sessions/${sessionId}/resume continues it.`, {
      message_id: message.id,
      session_id: sessionId,
    })
  }
  return message
}
