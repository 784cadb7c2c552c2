import { uuidv7 } from 'uuidv7'
import type { JsonObject, JsonValue } from '../../platform/db/tables.js'
import { ERR, type FieldError } from '../../platform/errors.js'
import type { EventBus } from '../../platform/events/event-bus.js'
import { encodeCursor, pageRequest, toPage, type Page, type SortOrder } from '../../platform/http/pagination.js'
import { timeIdAfter } from '../../platform/http/seek.js'
import type { AgentsService } from '../agents/agents.service.js'
import type { ConversationsService } from './conversations.service.js'
import { isParty, partyOf, type KeyPrincipal } from './mail.party.js'
import type { InboxRow, MailRepository, MailRow, MetadataRow } from './mail.repo.js'
import type { EditMailInput, InboxItemView, MailView, MetadataEntryView, SendMailInput } from './mail.schemas.js'

/** Published after a mail is stored: every process tells the open inbox streams of its recipients. */
export const MAIL_CHANNEL = 'mail.delivered'
export interface MailDelivered {
  gpt_id: string
  mail_id: string
  agent_ids: string[]
}

export interface InboxQuery {
  limit?: number
  cursor?: string
  order?: SortOrder
  unread?: boolean
  include?: 'sent'
  conversation_id?: string
  min_importance?: number
}

const DETAILS_LIMIT = 1000
const iso = (date: Date | null) => (date === null ? null : date.toISOString())

function toEntryView(row: MetadataRow): MetadataEntryView {
  return { id: row.id, key: row.key, value: row.value, set_by: row.set_by, created_at: row.created_at.toISOString(), updated_at: row.updated_at.toISOString() }
}

/** The stream/replay position of an inbox item: its time and id, opaque. */
export const inboxEventId = (deliveredAt: Date, id: string) => encodeCursor('inbox', [deliveredAt.toISOString(), id])

export class MailService {
  constructor(
    private readonly repo: MailRepository,
    private readonly agents: AgentsService,
    private readonly conversations: ConversationsService,
    private readonly events: EventBus,
    private readonly limits: { defaultPageSize: number },
    private readonly log: { warn(object: object, message: string): void },
  ) {}

  async sendMail(principal: KeyPrincipal, input: SendMailInput): Promise<MailView> {
    const gptId = principal.gptId
    if (principal.agentId !== null && input.from !== principal.agentId) {
      throw ERR.forbidden('This key is bound to another agent: it may send only as that agent.')
    }
    const errors: FieldError[] = []
    const missing = new Set(await this.agents.missingAgents(gptId, [input.from, ...input.to]))
    if (missing.has(input.from)) errors.push({ pointer: '/from', message: 'is not an agent of this GPT' })
    input.to.forEach((id, index) => {
      if (missing.has(id)) errors.push({ pointer: `/to/${index}`, message: 'is not an agent of this GPT' })
    })
    if (input.conversation_id && !(await this.conversations.conversationExists(gptId, input.conversation_id))) {
      errors.push({ pointer: '/conversation_id', message: 'is not a conversation of this GPT' })
    }
    if (input.parent_id && !(await this.visibleMail(principal, input.parent_id))) {
      // The same answer whether the mail is missing or not the agent's: ids of others' mail are not confirmed.
      const message = partyOf(principal) === null ? 'is not a mail of this GPT' : 'is not a mail this agent sent or received'
      errors.push({ pointer: '/parent_id', message })
    }
    if (errors.length > 0) throw ERR.validation('The mail refers to things that do not exist in this GPT.', errors)
    const row = await this.repo.insertMail(
      {
        gpt_id: gptId,
        id: uuidv7(),
        sender_id: input.from,
        conversation_id: input.conversation_id ?? null,
        parent_id: input.parent_id ?? null,
        type: input.type ?? 'text',
        importance: input.importance ?? 5,
        content: input.content,
        metadata: (input.metadata ?? {}) as JsonObject,
      },
      input.to,
    )
    const delivered: MailDelivered = { gpt_id: gptId, mail_id: row.id, agent_ids: input.to }
    // Stored is delivered: a lost notification only delays live streams (Last-Event-ID replays it).
    await this.events.publish(MAIL_CHANNEL, { ...delivered }).catch((error: unknown) => this.log.warn({ err: error }, 'mail notification failed'))
    return (await this.views(gptId, [row]))[0]!
  }

  /** For the sender and the recipients; another agent's key gets 403. */
  async getMail(principal: KeyPrincipal, id: string): Promise<MailView> {
    const row = await this.repo.findMail(principal.gptId, id)
    if (!row) throw ERR.notFound('Mail', id)
    const [view] = await this.views(principal.gptId, [row])
    if (!isParty(view!, partyOf(principal))) throw ERR.forbidden('This agent is neither the sender nor a recipient of the mail.')
    return view!
  }

  /** The sender (or a GPT key) adds recipients; each new one gets the mail in its inbox and live streams now. */
  async addRecipients(principal: KeyPrincipal, id: string, to: string[]): Promise<MailView> {
    const row = await this.sendersMail(principal, id, 'add recipients to')
    const missing = new Set(await this.agents.missingAgents(principal.gptId, to))
    const errors = to.flatMap((agentId, index) => (missing.has(agentId) ? [{ pointer: `/to/${index}`, message: 'is not an agent of this GPT' }] : []))
    if (errors.length > 0) throw ERR.validation('The recipients must be agents of this GPT.', errors)
    if ((await this.repo.addRecipients(principal.gptId, id, to)) === null) throw ERR.conflict('An agent named in `to` is a recipient of this mail already.')
    const delivered: MailDelivered = { gpt_id: principal.gptId, mail_id: id, agent_ids: to }
    await this.events.publish(MAIL_CHANNEL, { ...delivered }).catch((error: unknown) => this.log.warn({ err: error }, 'mail notification failed'))
    return (await this.views(principal.gptId, [row]))[0]!
  }

  /** The sender (or a GPT key) edits a mail; its recipients see the new text and `edited_at`. */
  async editMail(principal: KeyPrincipal, id: string, change: EditMailInput): Promise<MailView> {
    await this.sendersMail(principal, id, 'edit')
    const row = await this.repo.updateMail(principal.gptId, id, { ...change, metadata: change.metadata as JsonObject | undefined })
    if (!row) throw ERR.notFound('Mail', id)
    return (await this.views(principal.gptId, [row]))[0]!
  }

  /** A metadata entry by its id, for the parties of its mail. */
  async getMetadataEntry(principal: KeyPrincipal, entryId: string): Promise<MetadataEntryView & { mail_id: string }> {
    const row = await this.repo.findMetadataEntry(principal.gptId, entryId)
    if (!row) throw ERR.notFound('Metadata entry', entryId)
    await this.getMail(principal, row.mail_id)
    return { ...toEntryView(row), mail_id: row.mail_id }
  }

  async patchMetadataEntry(principal: KeyPrincipal, entryId: string, change: { key?: string; value?: JsonValue }): Promise<MetadataEntryView & { mail_id: string }> {
    await this.getMetadataEntry(principal, entryId)
    const row = await this.repo.updateMetadataEntry(principal.gptId, entryId, change, principal.agentId)
    if (row === 'taken') throw ERR.conflict(`The mail has a metadata entry ${JSON.stringify(change.key)} already.`)
    if (!row) throw ERR.notFound('Metadata entry', entryId)
    return { ...toEntryView(row), mail_id: row.mail_id }
  }

  async putMetadata(principal: KeyPrincipal, id: string, key: string, value: JsonValue): Promise<MetadataEntryView> {
    await this.getMail(principal, id)
    return toEntryView(await this.repo.putMetadata(principal.gptId, id, key, value, principal.agentId))
  }

  async inbox(principal: KeyPrincipal, agentId: string, query: InboxQuery): Promise<Page<InboxItemView>> {
    await this.assertInboxOwner(principal, agentId)
    const filters = {
      unread: query.unread === true,
      includeSent: query.include === 'sent',
      conversationId: query.conversation_id ?? null,
      minImportance: query.min_importance ?? null,
    }
    const scope = `inbox:${principal.gptId}/${agentId}:${filters.includeSent && !filters.unread ? 'both' : 'received'}`
    const page = pageRequest(query, scope, { defaultPageSize: this.limits.defaultPageSize, order: 'desc' })
    const rows = await this.repo.inbox(principal.gptId, agentId, filters, { ...page, after: timeIdAfter(page) })
    const result = toPage(rows, page, (row) => [row.delivered_at.toISOString(), row.id])
    return { ...result, items: await this.inboxViews(principal.gptId, result.items) }
  }

  /** Received mail after a stream position, oldest first (for Last-Event-ID replay). */
  async inboxSince(gptId: string, agentId: string, after: [Date, string] | null, limit: number): Promise<(InboxItemView & { event_id: string })[]> {
    const filters = { unread: false, includeSent: false, conversationId: null, minImportance: null }
    const rows = (await this.repo.inbox(gptId, agentId, filters, { order: 'asc', limit, after })).slice(0, limit)
    const views = await this.inboxViews(gptId, rows)
    return views.map((view, index) => ({ ...view, event_id: inboxEventId(rows[index]!.delivered_at, rows[index]!.id) }))
  }

  /** One received mail as the recipient's stream shows it. */
  async inboxItem(gptId: string, agentId: string, mailId: string): Promise<(InboxItemView & { event_id: string }) | null> {
    const row = await this.repo.findMail(gptId, mailId)
    if (!row) return null
    const delivery = (await this.repo.recipientsOf(gptId, [mailId])).find((to) => to.agent_id === agentId)
    if (!delivery) return null
    const [view] = await this.views(gptId, [row])
    return { ...view!, direction: 'received', read_at: iso(delivery.read_at), event_id: inboxEventId(delivery.created_at, row.id) }
  }

  async markRead(principal: KeyPrincipal, agentId: string, which: { up_to: string } | { ids: string[] }): Promise<{ updated_count: number }> {
    await this.assertInboxOwner(principal, agentId)
    const count = await this.repo.markRead(principal.gptId, agentId, 'up_to' in which ? { upTo: new Date(which.up_to) } : { ids: which.ids })
    return { updated_count: count }
  }

  /** Whether the caller may see the conversation: GPT keys always, agent keys when they take part. */
  async assertConversationAccess(principal: KeyPrincipal, conversationId: string): Promise<void> {
    await this.conversations.getConversation(principal.gptId, conversationId)
    const party = partyOf(principal)
    if (party !== null && !(await this.repo.takesPart(principal.gptId, conversationId, party))) {
      throw ERR.forbidden('This agent takes no part in the conversation.')
    }
  }

  /** An agent key gets the part of the conversation it is party to: its mail, the agents in it, its counts. */
  async conversationDetails(principal: KeyPrincipal, conversationId: string) {
    await this.assertConversationAccess(principal, conversationId)
    const gptId = principal.gptId
    const party = partyOf(principal)
    const conversation = await this.conversations.getConversation(gptId, conversationId)
    const rows = await this.repo.conversationMail(gptId, conversationId, party, DETAILS_LIMIT)
    const messages = await this.views(gptId, rows)
    const totals = await this.repo.conversationTotals(gptId, conversationId, party)
    const agentIds = [...new Set(messages.flatMap((mail) => [mail.from, ...mail.to.map((to) => to.agent_id)]))]
    const agents = await Promise.all(agentIds.map((id) => this.agents.getAgent(gptId, id).catch(() => null)))
    // Every agent taking part has a count, a sender who received nothing here included (0).
    const unreadBy: Record<string, number> = Object.fromEntries(agentIds.map((id) => [id, 0]))
    for (const row of totals.unread) unreadBy[row.agent_id] = row.unread
    return {
      conversation,
      messages,
      agents: agents.filter((agent) => agent !== null),
      total_messages: totals.total,
      unread_count: party !== null ? (unreadBy[party] ?? 0) : unreadBy,
    }
  }

  /** An inbox holds only mail its agent sent or received, so its owner is a party to all of it. */
  private async assertInboxOwner(principal: KeyPrincipal, agentId: string): Promise<void> {
    const party = partyOf(principal)
    if (party !== null && party !== agentId) throw ERR.forbidden("This key may read only its own agent's inbox.")
    await this.agents.getAgent(principal.gptId, agentId)
  }

  /** The mail, when the caller may change it: a GPT key, or a key bound to its sender. */
  private async sendersMail(principal: KeyPrincipal, id: string, what: string): Promise<MailRow> {
    const row = await this.repo.findMail(principal.gptId, id)
    if (!row) throw ERR.notFound('Mail', id)
    if (principal.agentId !== null && principal.agentId !== row.sender_id) {
      // A recipient learns nothing new (it sees the mail anyway); others are told as little as for a read.
      const view = (await this.views(principal.gptId, [row]))[0]!
      if (!isParty(view, partyOf(principal))) throw ERR.forbidden('This agent is neither the sender nor a recipient of the mail.')
      throw ERR.forbidden(`Only the sender of a mail may ${what} it.`)
    }
    return row
  }

  /** The mail if the caller may see it (it exists in the GPT and, for an agent key, the agent is a party). */
  private async visibleMail(principal: KeyPrincipal, id: string): Promise<MailRow | null> {
    const row = await this.repo.findMail(principal.gptId, id)
    if (!row) return null
    const party = partyOf(principal)
    const to = party === null ? [] : await this.repo.recipientsOf(principal.gptId, [id])
    return isParty({ from: row.sender_id, to }, party) ? row : null
  }

  private async views(gptId: string, rows: MailRow[]): Promise<MailView[]> {
    const ids = rows.map((row) => row.id)
    const [recipients, metadata] = await Promise.all([this.repo.recipientsOf(gptId, ids), this.repo.metadataOf(gptId, ids)])
    return rows.map((row) => ({
      id: row.id,
      gpt_id: row.gpt_id,
      from: row.sender_id,
      to: recipients.filter((r) => r.mail_id === row.id).map((r) => ({ agent_id: r.agent_id, read_at: iso(r.read_at) })),
      conversation_id: row.conversation_id,
      parent_id: row.parent_id,
      type: row.type,
      importance: row.importance,
      content: row.content,
      metadata: row.metadata,
      metadata_entries: metadata.filter((m) => m.mail_id === row.id).map(toEntryView),
      created_at: row.created_at.toISOString(),
      edited_at: iso(row.edited_at),
    }))
  }

  private async inboxViews(gptId: string, rows: InboxRow[]): Promise<InboxItemView[]> {
    const views = await this.views(gptId, rows)
    return views.map((view, index) => ({ ...view, direction: rows[index]!.direction, read_at: iso(rows[index]!.read_at) }))
  }
}
