import type http from 'node:http'
import { get } from 'node:http'
import { performance } from 'node:perf_hooks'

/** An inbox item as the stream's `data` carries it. */
export interface InboxItem {
  id: string
  gpt_id: string
  from: string
  to: { agent_id: string; read_at: string | null }[]
  content: string
  type: string
  importance: number
  direction: 'received' | 'sent'
  read_at: string | null
  created_at: string
  event_id: string
}

/** A small Server-Sent Events client over node:http that parses the stream as it arrives. */

export interface SseEvent {
  /** The `id:` field of this event's own block (null when the block had none). */
  id: string | null
  event: string
  data: string
  /** performance.now() when the event was dispatched. */
  at: number
}

export class SseStream {
  readonly events: SseEvent[] = []
  /** Comment lines (without the leading colon), with when they arrived. */
  readonly comments: { text: string; at: number }[] = []
  retry: number | null = null
  raw = ''
  ended = false
  private buffer = ''
  private block: { id: string | null; event: string | null; data: string[] } = { id: null, event: null, data: [] }
  private readonly waiters = new Set<() => void>()

  constructor(
    readonly response: http.IncomingMessage,
    private readonly request: http.ClientRequest,
  ) {
    response.setEncoding('utf8')
    response.on('data', (chunk: string) => this.feed(chunk))
    const finish = () => {
      this.ended = true
      this.wake()
    }
    response.on('end', finish)
    response.on('close', finish)
    response.on('error', finish)
  }

  get status(): number {
    return this.response.statusCode ?? 0
  }

  /** The mail items carried by the `mail` events so far. */
  mail(): InboxItem[] {
    return this.events.filter((event) => event.event === 'mail').map((event) => JSON.parse(event.data) as InboxItem)
  }

  async waitFor(what: string, predicate: (stream: SseStream) => boolean, timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!predicate(this)) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${what}; stream so far:\n${this.raw.slice(0, 2000)}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 100))
        function done() {
          clearTimeout(timer)
          resolve()
        }
        this.waiters.add(done)
      })
    }
  }

  close(): void {
    this.request.destroy()
    this.response.destroy()
  }

  private wake(): void {
    const waiters = [...this.waiters]
    this.waiters.clear()
    for (const wake of waiters) wake()
  }

  private feed(chunk: string): void {
    this.raw += chunk
    this.buffer += chunk
    let newline = this.buffer.indexOf('\n')
    while (newline >= 0) {
      this.line(this.buffer.slice(0, newline).replace(/\r$/, ''))
      this.buffer = this.buffer.slice(newline + 1)
      newline = this.buffer.indexOf('\n')
    }
    this.wake()
  }

  private line(line: string): void {
    if (line === '') {
      const { id, event, data } = this.block
      if (data.length > 0) this.events.push({ id, event: event ?? 'message', data: data.join('\n'), at: performance.now() })
      this.block = { id: null, event: null, data: [] }
      return
    }
    if (line.startsWith(':')) {
      this.comments.push({ text: line.slice(1).trim(), at: performance.now() })
      return
    }
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'data') this.block.data.push(value)
    else if (field === 'id') this.block.id = value
    else if (field === 'event') this.block.event = value
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value)
  }
}

/** Opens a stream and resolves once the response head is in (any status). */
export function openSseStream(url: string, headers: Record<string, string>): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const request = get(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (response) => resolve(new SseStream(response, request)))
    request.on('error', reject)
  })
}
