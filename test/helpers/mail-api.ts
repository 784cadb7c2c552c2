import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, expect } from 'vitest'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './test-app.js'

export interface AgentView {
  id: string
  gpt_id: string
  name: string
}
export interface Recipient {
  agent_id: string
  read_at: string | null
}
export interface MetadataEntry {
  key: string
  value: unknown
  set_by: string | null
  updated_at: string
}
export interface MailView {
  id: string
  gpt_id: string
  from: string
  to: Recipient[]
  conversation_id: string | null
  parent_id: string | null
  type: string
  importance: number
  content: string
  metadata: Record<string, unknown>
  metadata_entries: MetadataEntry[]
  created_at: string
}
export interface InboxItem extends MailView {
  direction: 'received' | 'sent'
  read_at: string | null
}
export interface InboxList {
  mail: InboxItem[]
  next_cursor: string | null
  has_more: boolean
}
export interface ConversationView {
  id: string
  gpt_id: string
  title: string
  description: string | null
  archived: boolean
  metadata: Record<string, unknown>
  created_at: string
  updated_at: string
}
export interface ConversationList {
  conversations: ConversationView[]
  next_cursor: string | null
  has_more: boolean
}
export interface Details {
  conversation: ConversationView
  messages: MailView[]
  agents: AgentView[]
  total_messages: number
  unread_count: number | Record<string, number>
}

export const GPT = 'mail-gpt'
export const OTHER = 'mail-other'
export const MAIL = `/v1/gpts/${GPT}/mail`
export const CONVERSATIONS = `/v1/gpts/${GPT}/conversations`
export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
export const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
export const MISSING_ID = '0190a1b2-0000-7000-8000-000000000000'
export const MISSING_ID_2 = '0190a1b2-0000-7000-8000-000000000001'
export const MAX_MAIL_CHARS = 100
export const MAX_RECIPIENTS = 3

export let t: TestApp
export let gptKey: string
export let otherKey: string
export let alice: AgentView
export let bob: AgentView
export let carol: AgentView
/** Of GPT OTHER: an agent, a conversation and a mail there. */
export let foreignAgent: AgentView
export let foreignConversation: ConversationView
export let foreignMail: MailView

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export function call(method: Method, url: string, payload?: unknown, token = gptKey): Promise<LightMyRequestResponse> {
  if (payload === undefined) return t.app.inject({ method, url, headers: bearer(token) })
  return t.app.inject({ method, url, headers: { ...bearer(token), 'content-type': 'application/json' }, payload: JSON.stringify(payload) })
}

export async function ok<T>(method: Method, url: string, payload?: unknown, token = gptKey, status = method === 'POST' && !url.endsWith('/read') ? 201 : 200): Promise<T> {
  const response = await call(method, url, payload, token)
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(status)
  return response.json<T>()
}

export let agentCount = 0
export async function agent(name = `agent-${++agentCount}`, gpt = GPT, token = gptKey): Promise<AgentView> {
  return ok<AgentView>('POST', `/v1/gpts/${gpt}/agents`, { name }, token)
}

export async function agentKey(agentId: string, gpt = GPT): Promise<string> {
  return (await t.services.keys.createKey(gpt, { agent_id: agentId, scopes: ['read', 'write'] })).key
}

export async function send(from: AgentView, to: AgentView[], extra: Record<string, unknown> = {}, token = gptKey, gpt = GPT): Promise<MailView> {
  return ok<MailView>('POST', `/v1/gpts/${gpt}/mail`, { from: from.id, to: to.map((a) => a.id), content: `from ${from.name}`, ...extra }, token)
}

export async function conversation(body: Record<string, unknown> = { title: 'chat' }, gpt = GPT, token = gptKey): Promise<ConversationView> {
  return ok<ConversationView>('POST', `/v1/gpts/${gpt}/conversations`, body, token)
}

export async function inbox(agentId: string, query = '', token = gptKey): Promise<InboxList> {
  return ok<InboxList>('GET', `/v1/agents/${agentId}/inbox${query ? `?${query}` : ''}`, undefined, token)
}

export const pointers = (response: LightMyRequestResponse) => (response.json<{ errors?: { pointer: string }[] }>().errors ?? []).map((e) => e.pointer)
export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The app(s), GPT and keys every file of these scenarios starts from (hooks of the calling file). */
export function useMailApi(): void {
  beforeAll(async () => {
    t = await createTestApp({ env: { MAX_MAIL_CHARS: String(MAX_MAIL_CHARS), MAX_RECIPIENTS: String(MAX_RECIPIENTS) } })
    gptKey = (await createGptWithKey(t.services, GPT)).token
    otherKey = (await createGptWithKey(t.services, OTHER)).token
    alice = await agent('alice')
    bob = await agent('bob')
    carol = await agent('carol')
    foreignAgent = await agent('alice', OTHER, otherKey)
    foreignConversation = await conversation({ title: 'elsewhere' }, OTHER, otherKey)
    foreignMail = await send(foreignAgent, [foreignAgent], { conversation_id: foreignConversation.id }, otherKey, OTHER)
  })
  afterAll(async () => {
    await t?.close()
  })
}
