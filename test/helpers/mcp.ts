import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import type { FastifyInstance } from 'fastify'
import { bearer, injectJson } from './test-app.js'

/** A connected SDK client over the given transport. */
export async function mcpClient(transport: Transport): Promise<Client> {
  const client = new Client({ name: 'agentstore-test', version: '1.0.0' })
  await client.connect(transport)
  return client
}

export async function callTool(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult
}

export const resultText = (result: CallToolResult) => result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n')

export interface McpFixture {
  collection: string
  documentId: string
  memoryId: string
  sessionId: string
  characterId: string
  sender: string
  recipient: string
  mailId: string
}

/** Posts a JSON body with the GPT's admin-scoped key; answers the created item. */
export type Post = (url: string, body: unknown) => Promise<{ id: string }>

/** A Post through `app.inject`. */
export function injectPost(app: FastifyInstance, token: string): Post {
  return async (url, body) => {
    const response = await injectJson(app, 'POST', url, bearer(token), body)
    if (response.statusCode >= 300) throw new Error(`${url}: ${response.statusCode} ${response.body}`)
    return response.json<{ id: string }>()
  }
}

/** One of everything the tools reach, made through the HTTP API. */
export async function seedMcpFixture(post: Post, gptId: string): Promise<McpFixture> {
  const schema = { type: 'object', properties: { title: { type: 'string' }, mood: { type: 'string' } }, required: ['title'] }
  await post(`/v1/gpts/${gptId}/collections`, { name: 'notes', schema })
  const document = await post(`/v1/gpts/${gptId}/collections/notes/objects`, { title: 'First note', mood: 'great' })
  const memory = await post(`/v1/gpts/${gptId}/memories`, { content: 'The user likes green tea', user_id: 'u1' })
  const character = await post(`/v1/gpts/${gptId}/characters`, { name: 'Guide', agent_role: 'You are Guide, a terse travel assistant.' })
  const session = await post(`/v1/gpts/${gptId}/sessions`, { user_id: 'u1', name: 'Trip', character_id: character.id })
  await post(`/v1/sessions/${session.id}/messages`, { sender: 'user', content: 'Where should I go in May?' })
  const sender = await post(`/v1/gpts/${gptId}/agents`, { name: 'planner' })
  const recipient = await post(`/v1/gpts/${gptId}/agents`, { name: 'booker' })
  const mail = await post(`/v1/gpts/${gptId}/mail`, { from: sender.id, to: [recipient.id], content: 'Book a train' })
  return {
    collection: 'notes',
    documentId: document.id,
    memoryId: memory.id,
    sessionId: session.id,
    characterId: character.id,
    sender: sender.id,
    recipient: recipient.id,
    mailId: mail.id,
  }
}

const MISSING = '0190a1b2-0000-7000-8000-000000000000'

/** Per tool: arguments that succeed, and arguments that are refused with the status named. */
export function toolCases(f: McpFixture): { tool: string; ok: Record<string, unknown>; bad: Record<string, unknown>; refused: number }[] {
  const c = f.collection
  return [
    { tool: 'list_collections', ok: {}, bad: { limit: 0 }, refused: 422 },
    { tool: 'create_document', ok: { collection: c, document: { title: 'Second' } }, bad: { collection: c, document: { mood: 'no title' } }, refused: 400 },
    { tool: 'get_document', ok: { collection: c, id: f.documentId }, bad: { collection: c, id: MISSING }, refused: 404 },
    { tool: 'update_document', ok: { collection: c, id: f.documentId, fields: { mood: 'ok' } }, bad: { collection: c, id: 'not-a-uuid', fields: {} }, refused: 422 },
    { tool: 'list_documents', ok: { collection: c, limit: 5 }, bad: { collection: 'missing' }, refused: 404 },
    { tool: 'query_documents', ok: { collection: c, where: { mood: 'ok' } }, bad: { collection: c, cursor: 'garbage' }, refused: 400 },
    { tool: 'remember', ok: { content: 'The user flies from Lyon', user_id: 'u1' }, bad: { content: '' }, refused: 422 },
    { tool: 'recall', ok: { query: 'tea', user_id: 'u1' }, bad: { query: '   ' }, refused: 422 },
    { tool: 'list_memories', ok: { user_id: 'u1' }, bad: { embedding_status: 'maybe' }, refused: 422 },
    { tool: 'search', ok: { query: 'note', mode: 'keyword' }, bad: { query: 'x', sources: [] }, refused: 422 },
    { tool: 'list_sessions', ok: { user_id: 'u1' }, bad: { sort: 'random' }, refused: 422 },
    { tool: 'read_messages', ok: { session_id: f.sessionId }, bad: { session_id: MISSING }, refused: 404 },
    { tool: 'add_message', ok: { session_id: f.sessionId, sender: 'user', content: 'And in June?' }, bad: { session_id: f.sessionId, sender: 'robot', content: 'x' }, refused: 422 },
    { tool: 'generate_reply', ok: { session_id: f.sessionId }, bad: { session_id: MISSING }, refused: 404 },
    { tool: 'send_mail', ok: { from: f.sender, to: [f.recipient], content: 'Done?' }, bad: { from: f.sender, to: [MISSING], content: 'x' }, refused: 422 },
    { tool: 'read_inbox', ok: { agent_id: f.recipient, unread: true }, bad: { agent_id: MISSING }, refused: 404 },
    { tool: 'mark_read', ok: { agent_id: f.recipient, ids: [f.mailId] }, bad: { agent_id: f.recipient }, refused: 422 },
    { tool: 'list_conversations', ok: {}, bad: { archived: 'yes' }, refused: 422 },
    { tool: 'forget', ok: { id: f.memoryId }, bad: { id: MISSING }, refused: 404 },
    { tool: 'delete_document', ok: { collection: c, id: f.documentId }, bad: { collection: c, id: f.documentId }, refused: 404 },
  ]
}
