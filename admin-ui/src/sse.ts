import { consoleHeaders, problem } from './api.js'

export interface StreamEvent {
  event: string
  data: string
  id: string | null
}

export interface StreamOptions {
  gpt: string
  body?: unknown
  /** Where to start again: the id of the last event seen (Last-Event-ID). */
  lastEventId?: string
  signal: AbortSignal
  /** Called once the API has accepted the stream (its answer's headers are in): from then on nothing sent is missed. */
  onOpen?: () => void
}

/**
 * Reads a Server-Sent Events answer of the API through the console, event by event. fetch rather
 * than EventSource: EventSource can neither POST (a generation starts with one) nor send the
 * Agentstore-GPT and CSRF headers. Resolves when the stream ends; a refused request throws its ApiError.
 */
export async function readEvents(method: 'GET' | 'POST', path: string, options: StreamOptions, onEvent: (event: StreamEvent) => void): Promise<void> {
  const headers: Record<string, string> = { accept: 'text/event-stream', ...consoleHeaders(method, options.gpt) }
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(`/admin/api${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    signal: options.signal,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  })
  if (!response.ok) throw await problem(response)
  options.onOpen?.()
  if (!response.body) return
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  let block: StreamEvent = { event: 'message', data: '', id: null }
  let hasData = false
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value
    let newline = buffer.indexOf('\n')
    while (newline >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, '')
      buffer = buffer.slice(newline + 1)
      newline = buffer.indexOf('\n')
      if (line === '') {
        if (hasData) onEvent(block)
        block = { event: 'message', data: '', id: null }
        hasData = false
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
      if (field === 'data') {
        block.data = hasData ? `${block.data}\n${text}` : text
        hasData = true
      } else if (field === 'event') block.event = text
      else if (field === 'id') block.id = text
    }
  }
}
