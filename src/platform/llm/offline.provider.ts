import { setTimeout as sleep } from 'node:timers/promises'
import { LlmError } from './llm-error.js'
import { DEFAULT_MODELS, type ChatTurn, type GenerateRequest, type LlmProvider } from './llm.js'

/** Used between a `continueFrom` that is not a prefix of the reply and the full reply. */
export const OFFLINE_RESTART_SEPARATOR = '\n\n'

export const OFFLINE_DEFAULT_DELAY_MS = 8

const QUOTE_LIMIT = 120

/**
 * The reply of the offline provider: a pure function of the system prompt and the history, so that
 * tests and demos can predict it exactly.
 */
export function offlineReply(system: string | null, messages: readonly ChatTurn[]): string {
  const lastUser = [...messages].reverse().find((turn) => turn.role === 'user')
  const said = lastUser ? collapse(lastUser.content) : ''
  const opening = said ? `You said: "${quote(said)}".` : 'There is no message from you yet.'
  const turns = `${messages.length} ${messages.length === 1 ? 'turn' : 'turns'}`
  const prompt = system?.trim() ? `and a system prompt of ${countWords(system)} words` : 'and no system prompt'
  return (
    `${opening} This is ${DEFAULT_MODELS.offline}, the offline test model: I saw ${turns} of conversation ${prompt}. ` +
    'Configure an LLM provider for real answers.'
  )
}

/** Word-sized pieces (each word with the whitespace before it) whose concatenation is `text`. */
export function offlineTokens(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? []
}

/**
 * No network and no randomness: streams offlineReply word by word, with a short pause per word so
 * that clients can watch it stream (0 in unit tests). A resume yields exactly the rest of the reply
 * when `continueFrom` is a prefix of it; otherwise (the history or the partial changed) the whole
 * reply follows a blank line, so that nothing is silently merged into text it does not belong to.
 */
export class OfflineProvider implements LlmProvider {
  readonly name = 'offline'
  readonly defaultModel = DEFAULT_MODELS.offline

  constructor(private readonly options: { delayMs?: number } = {}) {}

  async *stream(request: GenerateRequest): AsyncGenerator<string> {
    const reply = offlineReply(request.system, request.messages)
    const continueFrom = request.continueFrom ?? ''
    const rest = reply.startsWith(continueFrom) ? reply.slice(continueFrom.length) : `${OFFLINE_RESTART_SEPARATOR}${reply}`
    const delayMs = this.options.delayMs ?? OFFLINE_DEFAULT_DELAY_MS
    for (const token of offlineTokens(rest)) {
      if (delayMs > 0) {
        try {
          await sleep(delayMs, undefined, request.signal ? { signal: request.signal } : {})
        } catch {
          // The only rejection of sleep is the signal's abort; checked below.
        }
      }
      if (request.signal?.aborted) throw new LlmError('offline', 'aborted', 'the request was aborted', { cause: request.signal.reason })
      yield token
    }
  }
}

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}

function quote(text: string): string {
  return text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT - 1).trimEnd()}…` : text
}

function countWords(text: string): number {
  return text.trim().split(/\s+/).length
}
