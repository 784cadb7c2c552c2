import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, ERR, ErrorCode } from '../../platform/errors.js'
import type { AgentView } from '../../modules/agents/agents.schemas.js'
import type { ConversationView } from '../../modules/mail/conversations.schemas.js'
import type { InboxItemView, MailView, MetadataEntryView } from '../../modules/mail/mail.schemas.js'
import { sendChatStoreError } from '../chatstore/chatstore.shapes.js'

/**
 * The demo let many agents share a name; house agent names are unique in a GPT. Its name is kept in
 * the agent's metadata, and the house name gets a short suffix that makes it unique.
 */
export const NAME_KEY = 'agent_name'

export function demoAgent(agent: AgentView) {
  const name = (agent.metadata as Record<string, unknown>)[NAME_KEY]
  return {
    id: agent.id,
    agent_name: typeof name === 'string' ? name : agent.name,
    ip_address: agent.address,
    port: agent.port,
    created_at: agent.created_at,
  }
}

export function demoMessage(mail: MailView) {
  return {
    id: mail.id,
    sender_id: mail.from,
    sent_at: mail.created_at,
    parent_message_id: mail.parent_id,
    conversation_id: mail.conversation_id,
    content: mail.content,
    message_type: mail.type,
    importance: mail.importance,
    // The house has no per-message status field: read back as null.
    status: null,
    msg_metadata: mail.metadata,
    edited_at: mail.edited_at,
  }
}

export function demoInboxItem(item: InboxItemView) {
  return { ...demoMessage(item), is_read: item.read_at !== null, read_at: item.read_at }
}

export function demoRecipient(mail: MailView, recipientId: string) {
  const to = mail.to.find((recipient) => recipient.agent_id === recipientId)
  if (!to) throw ERR.notFoundDetail('Message recipient relationship not found')
  return { message_id: mail.id, recipient_id: to.agent_id, is_read: to.read_at !== null, read_at: to.read_at }
}

export function demoMetadata(entry: MetadataEntryView, messageId: string) {
  return { id: entry.id, message_id: messageId, key: entry.key, value: entry.value, created_at: entry.created_at }
}

export function demoConversation(conversation: ConversationView) {
  const { id, title, description, archived, metadata, created_at } = conversation
  return { id, title, description, archived, metadata, created_at }
}

/**
 * The surface's common setup: its error shapes, and, when the operator named a GPT for it
 * (COMPAT_AGENTMAIL_OPEN_GPT), requests without a key work inside that GPT as they did in the demo.
 */
export function agentMailSurface(instance: FastifyInstance, open: OpenGpt | null): void {
  instance.setErrorHandler(sendAgentMailError)
  if (open === null) return
  instance.addHook('onRoute', (route) => {
    route.config = { ...route.config, openGpt: open.gptId }
  })
  // The named GPT may be created after the start (agentstore seed): until it exists, keyless calls are refused.
  instance.addHook('preHandler', async (request) => {
    if (request.principal?.kind === 'key' && request.principal.keyId === `open:${open.gptId}` && !(await open.exists())) {
      throw ERR.unauthorized(`The GPT ${open.gptId} named by COMPAT_AGENTMAIL_OPEN_GPT does not exist.`)
    }
  })
}

/** The GPT the surface serves keyless requests in, and whether it exists now. */
export interface OpenGpt {
  gptId: string
  exists(): Promise<boolean>
}

/** Reads a house error of `code` as the demo's answer (its status and text); others pass unchanged. */
export function translate(code: ErrorCode, as: () => AppError) {
  return (error: unknown): never => {
    if (error instanceof AppError && error.code === code) throw as()
    throw error
  }
}

interface AjvIssue {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
}

/** One FastAPI (pydantic) validation item: its type names the rule, `ctx` its limit. */
function demoIssue(issue: AjvIssue, location: string) {
  const member = issue.params.missingProperty
  const loc = [location, ...issue.instancePath.split('/').slice(1), ...(typeof member === 'string' ? [member] : [])]
  const limit = issue.params.limit
  switch (issue.keyword) {
    case 'required':
      return { type: 'missing', loc, msg: 'Field required' }
    case 'minLength':
      return { type: 'string_too_short', loc, msg: `String should have at least ${String(limit)} characters`, ctx: { min_length: limit } }
    case 'maxLength':
      return { type: 'string_too_long', loc, msg: `String should have at most ${String(limit)} characters`, ctx: { max_length: limit } }
    case 'pattern':
      return { type: 'value_error', loc, msg: 'Value error, contains invalid characters (letters, digits, white space and . , ! ? - _ only)' }
    default:
      return { type: 'value_error', loc, msg: issue.message ?? issue.keyword }
  }
}

/** The demo's errors: FastAPI's `{"detail": …}`, validation items with pydantic's types, as application/json. */
export function sendAgentMailError(error: FastifyError & { validation?: AjvIssue[]; validationContext?: string }, request: FastifyRequest, reply: FastifyReply) {
  if (error.validation) {
    const location = ({ body: 'body', querystring: 'query', params: 'path', headers: 'header' } as Record<string, string>)[error.validationContext ?? 'body'] ?? 'body'
    // A union's branches each report; the first issue per place is the one that explains it.
    const seen = new Set<string>()
    const detail = error.validation
      .filter((issue) => issue.keyword !== 'anyOf' && issue.keyword !== 'oneOf')
      .map((issue) => demoIssue(issue, location))
      .filter((item) => (seen.has(item.loc.join('.')) ? false : (seen.add(item.loc.join('.')), true)))
    return reply.code(422).type('application/json').send({ detail })
  }
  // FastAPI read any body as JSON: one it could not parse (whatever its content type) was a 422.
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || (error.statusCode === 400 && !(error instanceof AppError))) {
    return reply.code(422).type('application/json').send({ detail: [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error' }] })
  }
  if (error instanceof AppError && error.code === ErrorCode.MalformedJson) {
    return reply.code(422).type('application/json').send({ detail: [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error' }] })
  }
  return sendChatStoreError(error, request, reply)
}
