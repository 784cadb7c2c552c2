import type { FastifyReply, FastifyRequest } from 'fastify'
import { openEventStream } from '../../platform/http/event-stream.js'
import type { GenerationEvent, GenerationHub } from './generation.hub.js'
import type { MessageView } from './messages.schemas.js'

/** Reads a message as it is now, with the text generated so far when this process is generating it. */
export type LoadMessage = (gptId: string, id: string) => Promise<MessageView | null>

/**
 * Server-Sent Events of one AI message: `message` (the message as it is when the stream opens), then
 * `delta` ({offset, text}: text from that character offset of the reply; its SSE id is the offset
 * after it), then `done` (the final message), `cancelled` (the message, stopped on request, with its
 * text so far) or `error` ({error, message}). Text already generated
 * past `offset` is replayed first; the stream then follows the generation live until it ends.
 */
export class GenerationStreams {
  private readonly open = new Set<() => void>()

  constructor(
    private readonly hub: GenerationHub,
    private readonly load: LoadMessage,
    private readonly heartbeatMs: number,
    private readonly log: { warn(object: object, message: string): void },
  ) {}

  /**
   * `live`: the message as it is now when this process generates it (null otherwise), to open with
   * instead of reading it: the read was a round trip racing the provider's first token.
   */
  async follow(request: FastifyRequest, reply: FastifyReply, gptId: string, messageId: string, offset: number, live?: () => MessageView | null): Promise<void> {
    const raw = openEventStream(request, reply)
    let sent = offset
    let finished = false
    const send = (event: string, data: unknown, id?: number) => {
      if (!raw.writableEnded) raw.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    }
    const sendText = (text: string, from = 0) => {
      const end = from + text.length
      if (end <= sent || from > sent) return
      send('delta', { offset: sent, text: text.slice(sent - from) }, end)
      sent = end
    }
    const heartbeat = setInterval(() => raw.writableEnded || raw.write(': heartbeat\n\n'), this.heartbeatMs)
    let unfollow = () => {}
    const close = () => {
      clearInterval(heartbeat)
      unfollow()
      this.open.delete(end)
    }
    const end = () => {
      close()
      raw.end()
    }
    this.open.add(end)
    raw.on('close', close)

    const finish = (message: MessageView) => {
      if (finished) return
      finished = true
      if (message.status === 'complete') {
        sendText(message.content)
        send('done', message)
      } else if (message.status === 'cancelled') {
        sendText(message.partial_content)
        send('cancelled', message)
      } else {
        sendText(message.partial_content)
        send('error', { error: message.error_message ?? 'the generation failed', message })
      }
      end()
    }
    const apply = (message: MessageView | null) => {
      if (message === null) {
        finished = true
        send('error', { error: 'the message was deleted', message: null })
        end()
      } else if (message.status === 'complete' || message.status === 'failed' || message.status === 'cancelled') finish(message)
      else sendText(message.partial_content)
    }
    // Reads run one after another, so that an older read never overwrites what a newer one sent.
    let reading: Promise<void> = Promise.resolve()
    const reload = () => {
      reading = reading
        .then(async () => {
          if (!finished) apply(await this.load(gptId, messageId))
        })
        .catch((error: unknown) => this.log.warn({ err: error }, 'generation stream: could not read the message'))
    }
    let buffered: GenerationEvent[] | null = []
    const handle = (event: GenerationEvent) => {
      if (finished) return
      if (event.type === 'delta') {
        // A gap (text this stream has not seen) is filled from the stored message.
        if (event.offset > sent) reload()
        else sendText(event.text, event.offset)
      } else if (event.type === 'done') finish(event.message)
      else reload()
    }
    // Follow first, then read: nothing generated in between is lost; live events wait for the read.
    unfollow = this.hub.follow(messageId, (event) => (buffered ? buffered.push(event) : handle(event)))
    try {
      const current = live?.() ?? (await this.load(gptId, messageId))
      if (current) {
        send('message', current)
        // Node holds a response's writes until the tick ends, and the provider call that starts in
        // this tick (its client's setup runs first) held the opening event back by about 1 ms.
        raw.socket?.uncork()
      }
      apply(current)
    } catch (error) {
      this.log.warn({ err: error }, 'generation stream: could not read the message')
      end()
    }
    const pending = buffered
    buffered = null
    pending.forEach(handle)
  }

  /** Ends every open stream (at shutdown, so that closing the server does not wait for them). */
  closeAll(): void {
    for (const end of [...this.open]) end()
  }
}
