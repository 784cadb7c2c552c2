import type { FastifyReply, FastifyRequest } from 'fastify'
import { openEventStream } from '../../platform/http/event-stream.js'
import type { EventBus } from '../../platform/events/event-bus.js'
import { decodeCursor } from '../../platform/http/pagination.js'
import { timeIdAfter } from '../../platform/http/seek.js'
import { MAIL_CHANNEL, type MailService } from './mail.service.js'

const REPLAY_BATCH = 500

type Listener = (mailId: string) => void

/**
 * Live inboxes over Server-Sent Events. One bus subscription per process fans each delivered mail out
 * to the open streams of its recipients; a stream that names a Last-Event-ID first replays what it
 * missed. Heartbeat comments keep idle connections (and proxies) from timing out.
 */
export class InboxStreams {
  private readonly listeners = new Map<string, Set<Listener>>()
  private readonly open = new Set<() => void>()
  /** In-flight loads of a delivered mail, shared by the streams of one agent (one load, not one per stream). */
  private readonly loading = new Map<string, ReturnType<MailService['inboxItem']>>()
  private readonly unsubscribe: () => void

  constructor(
    events: EventBus,
    private readonly mail: MailService,
    private readonly heartbeatMs: number,
    private readonly log: { warn(object: object, message: string): void },
  ) {
    this.unsubscribe = events.subscribe(MAIL_CHANNEL, (payload) => {
      const { gpt_id: gptId, mail_id: mailId, agent_ids: agentIds } = payload as { gpt_id: string; mail_id: string; agent_ids: string[] }
      for (const agentId of agentIds ?? []) {
        for (const listener of this.listeners.get(`${gptId}/${agentId}`) ?? []) listener(mailId)
      }
    })
  }

  /** Validates the replay position before anything is sent, so that a bad one is a plain 400. */
  replayPosition(lastEventId: string | undefined): [Date, string] | null {
    if (lastEventId === undefined || lastEventId === '') return null
    return timeIdAfter({ limit: 0, order: 'asc', after: decodeCursor(lastEventId, 'inbox') })
  }

  async stream(request: FastifyRequest, reply: FastifyReply, gptId: string, agentId: string, after: [Date, string] | null): Promise<void> {
    const raw = openEventStream(request, reply)
    const sent = new Set<string>()
    let buffered: string[] | null = []
    const write = (item: { id: string; event_id: string }) => {
      if (sent.has(item.id) || raw.writableEnded) return
      sent.add(item.id)
      raw.write(`id: ${item.event_id}\nevent: mail\ndata: ${JSON.stringify(item)}\n\n`)
    }
    // Loads run concurrently, but each mail is written after the ones delivered before it: out of order,
    // a client resuming from the newest id it saw would skip an older mail that had not arrived yet.
    let written: Promise<unknown> = Promise.resolve()
    const deliver = (mailId: string) => {
      const loading = this.load(gptId, agentId, mailId).catch((error: unknown) => {
        this.log.warn({ err: error }, 'inbox stream: could not load a delivered mail')
        return null
      })
      written = written.then(() => loading).then((item) => item && write(item))
    }
    // Listen before replaying, so that nothing sent in between is lost; hold live mail until the replay is out.
    const listener: Listener = (mailId) => (buffered ? buffered.push(mailId) : deliver(mailId))
    const key = `${gptId}/${agentId}`
    const set = this.listeners.get(key) ?? new Set<Listener>()
    set.add(listener)
    this.listeners.set(key, set)
    const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), this.heartbeatMs)
    const close = () => {
      clearInterval(heartbeat)
      set.delete(listener)
      if (set.size === 0) this.listeners.delete(key)
      this.open.delete(end)
    }
    const end = () => {
      close()
      raw.end()
    }
    this.open.add(end)
    raw.on('close', close)
    try {
      let position = after
      while (position !== null) {
        const items = await this.mail.inboxSince(gptId, agentId, position, REPLAY_BATCH)
        items.forEach(write)
        const last = items[items.length - 1]
        position = items.length === REPLAY_BATCH && last ? [new Date(last.created_at), last.id] : null
      }
    } catch (error) {
      this.log.warn({ err: error }, 'inbox stream: replay failed')
    }
    const pending = buffered
    buffered = null
    pending.forEach(deliver)
  }

  private load(gptId: string, agentId: string, mailId: string): ReturnType<MailService['inboxItem']> {
    const key = `${gptId}/${agentId}/${mailId}`
    let pending = this.loading.get(key)
    if (!pending) {
      pending = this.mail.inboxItem(gptId, agentId, mailId).finally(() => this.loading.delete(key))
      this.loading.set(key, pending)
    }
    return pending
  }

  /** Ends every open stream (at shutdown, so that closing the server does not wait for them). */
  closeAll(): void {
    for (const end of [...this.open]) end()
  }

  get openCount(): number {
    return this.open.size
  }

  close(): void {
    this.closeAll()
    this.unsubscribe()
  }
}
