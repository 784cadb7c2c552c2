import { useEffect, useRef, useState } from 'preact/hooks'
import { describeFailure } from '../api.js'
import { readEvents } from '../sse.js'
import type { ChatMessage } from './types.js'

export type Outcome = 'streaming' | 'done' | 'cancelled' | 'error'

/** A generation as its stream shows it: the text so far, then how it ended. */
export interface Live {
  messageId: string | null
  text: string
  outcome: Outcome
  error: string
}

export interface FollowOptions {
  body?: unknown
  /** Reattaching: the offset of the text already shown (the stream replays what comes after it). */
  lastEventId?: string
}

/**
 * Follows one generation stream at a time (a new one, or a running one after a reload). Each delta
 * says at which offset of the reply its text goes, so replayed and live text join without a gap or
 * a repeat. `onEnd` runs once the stream is over, for the page to read the stored transcript again.
 */
export function useGeneration(gpt: string, onEnd: () => void) {
  const [live, setLive] = useState<Live | null>(null)
  const current = useRef<AbortController | null>(null)
  useEffect(() => () => current.current?.abort(), [])

  async function follow(method: 'GET' | 'POST', path: string, options: FollowOptions = {}) {
    current.current?.abort()
    const controller = new AbortController()
    current.current = controller
    let shown: Live = { messageId: null, text: '', outcome: 'streaming', error: '' }
    const show = (next: Partial<Live>) => {
      shown = { ...shown, ...next }
      if (!controller.signal.aborted) setLive(shown)
    }
    show({})
    try {
      await readEvents(method, path, { gpt, signal: controller.signal, ...options }, (event) => {
        const data = JSON.parse(event.data) as Record<string, unknown>
        if (event.event === 'message') {
          const message = data as unknown as ChatMessage
          show({ messageId: message.id, text: message.partial_content })
        } else if (event.event === 'delta') {
          const delta = data as { offset: number; text: string }
          show({ text: shown.text.slice(0, delta.offset) + delta.text })
        } else if (event.event === 'done') show({ text: (data as unknown as ChatMessage).content, outcome: 'done' })
        else if (event.event === 'cancelled') show({ outcome: 'cancelled' })
        else if (event.event === 'error') show({ outcome: 'error', error: String(data.error ?? 'The generation failed.') })
      })
      // A stream cut before its last event (the server went away): what was stored is read again.
      if (shown.outcome === 'streaming') show({ outcome: 'error', error: 'The stream ended before the reply did.' })
    } catch (failure) {
      if (controller.signal.aborted) return
      show({ outcome: 'error', error: describeFailure(failure) })
    }
    if (!controller.signal.aborted) onEnd()
  }

  return { live, follow, clear: () => setLive(null) }
}

export const outcomeText: Record<Outcome, string> = {
  streaming: 'Generating a reply…',
  done: 'The reply is complete.',
  cancelled: 'The generation was stopped.',
  error: 'The generation failed.',
}
