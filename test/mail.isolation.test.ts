import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

interface AgentView {
  id: string
  gpt_id: string
  name: string
}
interface MailView {
  id: string
  from: string
  to: { agent_id: string; read_at: string | null }[]
  conversation_id: string | null
  content: string
  metadata_entries: { key: string; value: unknown; set_by: string | null }[]
}
interface InboxList {
  mail: (MailView & { direction: 'received' | 'sent' })[]
  has_more: boolean
}
interface ConversationView {
  id: string
  title: string
}
interface ConversationList {
  conversations: ConversationView[]
}

const A = 'iso-mail-a'
const B = 'iso-mail-b'
const MISSING_ID = '0190a1b2-0000-7000-8000-000000000000'

let t: TestApp
let gptA: string
let gptB: string
/** Agents of A: a1 and a2 talk, a4 is copied on one mail, a3 is an outsider. */
let a1: AgentView
let a2: AgentView
let a3: AgentView
let a4: AgentView
/** Keys bound to a1..a4. */
let k1: string
let k2: string
let k3: string
let k4: string
/** a1 → a2 in conversation cA. */
let m12: MailView
/** a2 → a1, no conversation. */
let m21: MailView
/** a1 → [a2, a4]. */
let mMulti: MailView
/** cA: a1, a2 take part. cSide: only a3 takes part. */
let cA: ConversationView
let cSide: ConversationView
let b1: AgentView
let b2: AgentView
let cB: ConversationView
let mB: MailView

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

function call(method: Method, url: string, token: string, payload?: unknown): Promise<LightMyRequestResponse> {
  if (payload === undefined) return t.app.inject({ method, url, headers: bearer(token) })
  return t.app.inject({ method, url, headers: { ...bearer(token), 'content-type': 'application/json' }, payload: JSON.stringify(payload) })
}

async function ok<T>(method: Method, url: string, token: string, payload?: unknown, status = method === 'POST' && !url.endsWith('/read') ? 201 : 200): Promise<T> {
  const response = await call(method, url, token, payload)
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(status)
  return response.json<T>()
}

const agentKey = async (gpt: string, agentId: string) => (await t.services.keys.createKey(gpt, { agent_id: agentId, scopes: ['read', 'write'] })).key
const send = (gpt: string, token: string, body: Record<string, unknown>) => ok<MailView>('POST', `/v1/gpts/${gpt}/mail`, token, { content: 'hi', ...body })

beforeAll(async () => {
  t = await createTestApp()
  gptA = (await createGptWithKey(t.services, A)).token
  gptB = (await createGptWithKey(t.services, B)).token
  const agent = (name: string) => ok<AgentView>('POST', `/v1/gpts/${A}/agents`, gptA, { name })
  ;[a1, a2, a3, a4] = [await agent('a1'), await agent('a2'), await agent('a3'), await agent('a4')]
  ;[k1, k2, k3, k4] = [await agentKey(A, a1.id), await agentKey(A, a2.id), await agentKey(A, a3.id), await agentKey(A, a4.id)]
  cA = await ok<ConversationView>('POST', `/v1/gpts/${A}/conversations`, gptA, { title: 'a1 and a2' })
  cSide = await ok<ConversationView>('POST', `/v1/gpts/${A}/conversations`, gptA, { title: 'a3 alone' })
  m12 = await send(A, k1, { from: a1.id, to: [a2.id], conversation_id: cA.id, content: 'a1 to a2' })
  m21 = await send(A, k2, { from: a2.id, to: [a1.id], content: 'a2 to a1' })
  mMulti = await send(A, k1, { from: a1.id, to: [a2.id, a4.id], content: 'to many' })
  await send(A, k3, { from: a3.id, to: [a3.id], conversation_id: cSide.id, content: 'note to self' })

  b1 = await ok<AgentView>('POST', `/v1/gpts/${B}/agents`, gptB, { name: 'a1' })
  b2 = await ok<AgentView>('POST', `/v1/gpts/${B}/agents`, gptB, { name: 'b2' })
  cB = await ok<ConversationView>('POST', `/v1/gpts/${B}/conversations`, gptB, { title: 'B talk' })
  mB = await send(B, gptB, { from: b1.id, to: [b2.id], conversation_id: cB.id, content: 'B secret' })
})

afterAll(async () => {
  await t?.close()
})

describe('agent keys', () => {
  it('know their agent, and the admin API binds keys to agents of the GPT only', async () => {
    expect(await ok('GET', '/v1/me', k1)).toMatchObject({ gpt_id: A, agent_id: a1.id })
    const created = await t.app.inject({ method: 'POST', url: `/v1/admin/gpts/${A}/keys`, headers: bearer(t.adminToken), payload: { agent_id: a2.id } })
    expect(created.statusCode, created.body).toBe(201)
    const key = created.json<{ key: string; agent_id: string }>()
    expect(key.agent_id).toBe(a2.id)
    expect(await ok('GET', '/v1/me', key.key)).toMatchObject({ agent_id: a2.id })
    expect((await ok<InboxList>('GET', `/v1/agents/${a2.id}/inbox`, key.key)).mail.length).toBeGreaterThan(0)

    const url = `/v1/admin/gpts/${A}/keys`
    for (const agentId of [b1.id, MISSING_ID]) {
      const refused = await t.app.inject({ method: 'POST', url, headers: bearer(t.adminToken), payload: { agent_id: agentId } })
      const problem = expectProblem(refused, 422, url, 'validation-failed')
      expect(problem.errors!.map((e) => e.pointer)).toEqual(['/agent_id'])
    }
  })

  // What an agent key may not do: each → 403, naming why.
  const forbidden: { name: string; method: Method; url: () => string; token: () => string; payload?: () => unknown; detail?: RegExp }[] = [
    { name: "read another agent's inbox", method: 'GET', url: () => `/v1/agents/${a2.id}/inbox`, token: () => k1, detail: /own agent's inbox/ },
    { name: "read another agent's unread inbox", method: 'GET', url: () => `/v1/agents/${a2.id}/inbox?unread=true&include=sent`, token: () => k1 },
    { name: "mark another agent's inbox read (up_to)", method: 'POST', url: () => `/v1/agents/${a2.id}/inbox/read`, token: () => k1, payload: () => ({ up_to: '2999-01-01T00:00:00Z' }) },
    { name: "mark another agent's inbox read (ids)", method: 'POST', url: () => `/v1/agents/${a2.id}/inbox/read`, token: () => k1, payload: () => ({ ids: [m12.id] }) },
    { name: 'send as another agent', method: 'POST', url: () => `/v1/gpts/${A}/mail`, token: () => k1, payload: () => ({ from: a2.id, to: [a1.id], content: 'forged' }), detail: /only as that agent/ },
    { name: 'send as another agent to itself', method: 'POST', url: () => `/v1/gpts/${A}/mail`, token: () => k3, payload: () => ({ from: a1.id, to: [a3.id], content: 'forged' }) },
    { name: 'read mail it is not party to', method: 'GET', url: () => `/v1/mail/${m12.id}`, token: () => k3, detail: /neither the sender nor a recipient/ },
    { name: 'read mail it is not party to (multi)', method: 'GET', url: () => `/v1/mail/${mMulti.id}`, token: () => k3 },
    { name: "read mail between others it was not copied on", method: 'GET', url: () => `/v1/mail/${m21.id}`, token: () => k4 },
    { name: 'put metadata on mail it is not party to', method: 'PUT', url: () => `/v1/mail/${m12.id}/metadata/tag`, token: () => k3, payload: () => ({ value: 'mine' }) },
    { name: 'see a conversation it takes no part in', method: 'GET', url: () => `/v1/conversations/${cA.id}`, token: () => k3, detail: /takes no part/ },
    { name: "see a conversation's details it takes no part in", method: 'GET', url: () => `/v1/conversations/${cA.id}/details`, token: () => k3 },
    { name: 'see a conversation with no mail of its own', method: 'GET', url: () => `/v1/conversations/${cSide.id}/details`, token: () => k1 },
    { name: 'create a conversation', method: 'POST', url: () => `/v1/gpts/${A}/conversations`, token: () => k1, payload: () => ({ title: 'mine' }), detail: /bound to an agent/ },
    { name: 'change a conversation it takes part in', method: 'PATCH', url: () => `/v1/conversations/${cA.id}`, token: () => k1, payload: () => ({ title: 'renamed' }) },
    { name: 'delete a conversation it takes part in', method: 'DELETE', url: () => `/v1/conversations/${cA.id}`, token: () => k1 },
    { name: 'list collections', method: 'GET', url: () => `/v1/gpts/${A}/collections`, token: () => k1 },
    { name: 'create a collection', method: 'POST', url: () => `/v1/gpts/${A}/collections`, token: () => k1, payload: () => ({ name: 'notes' }) },
    { name: 'list agents', method: 'GET', url: () => `/v1/gpts/${A}/agents`, token: () => k1 },
    { name: 'create an agent', method: 'POST', url: () => `/v1/gpts/${A}/agents`, token: () => k1, payload: () => ({ name: 'spawn' }) },
    { name: 'read another agent', method: 'GET', url: () => `/v1/agents/${a2.id}`, token: () => k1, detail: /another agent/ },
    { name: 'change itself', method: 'PATCH', url: () => `/v1/agents/${a1.id}`, token: () => k1, payload: () => ({ name: 'renamed' }) },
    { name: 'change another agent', method: 'PATCH', url: () => `/v1/agents/${a2.id}`, token: () => k1, payload: () => ({ port: 80 }) },
    { name: 'delete itself', method: 'DELETE', url: () => `/v1/agents/${a1.id}`, token: () => k1 },
    { name: 'delete another agent', method: 'DELETE', url: () => `/v1/agents/${a2.id}`, token: () => k1 },
    { name: 'read the GPT', method: 'GET', url: () => `/v1/gpts/${A}`, token: () => k1 },
    { name: "send into another GPT's path", method: 'POST', url: () => `/v1/gpts/${B}/mail`, token: () => k1, payload: () => ({ from: a1.id, to: [b2.id], content: 'x' }), detail: /another GPT/ },
  ]

  it.each(forbidden)('cannot $name (403)', async ({ method, url, token, payload, detail }) => {
    const target = url()
    const response = await call(method, target, token(), payload?.())
    const problem = expectProblem(response, 403, target, 'forbidden')
    if (detail) expect(problem.detail).toMatch(detail)
  })

  it('changed nothing while refusing', async () => {
    // a2's inbox is still unread, its mail carries no metadata, nothing was forged, the agents and conversations stand.
    const inbox = await ok<InboxList>('GET', `/v1/agents/${a2.id}/inbox?include=sent`, gptA)
    expect(inbox.mail.map((m) => m.content).sort()).toEqual(['a1 to a2', 'a2 to a1', 'to many'])
    const unread = await ok<InboxList>('GET', `/v1/agents/${a2.id}/inbox?unread=true`, gptA)
    expect(unread.mail.map((m) => m.id).sort()).toEqual([m12.id, mMulti.id].sort())
    expect((await ok<MailView>('GET', `/v1/mail/${m12.id}`, gptA)).metadata_entries).toEqual([])
    const a1Inbox = await ok<InboxList>('GET', `/v1/agents/${a1.id}/inbox`, gptA)
    expect(a1Inbox.mail.map((m) => m.id)).toEqual([m21.id])
    const agents = await ok<{ agents: AgentView[] }>('GET', `/v1/gpts/${A}/agents`, gptA)
    expect(agents.agents.map((a) => a.name)).toEqual(['a1', 'a2', 'a3', 'a4'])
    const conversations = await ok<ConversationList>('GET', `/v1/gpts/${A}/conversations`, gptA)
    expect(conversations.conversations.map((c) => c.title)).toEqual(['a3 alone', 'a1 and a2'])
    expect((await ok<{ collections: unknown[] }>('GET', `/v1/gpts/${A}/collections`, gptA)).collections).toEqual([])
  })

  it('the sender and each recipient can read the mail and note on it; others cannot', async () => {
    for (const [token, agent] of [
      [k1, a1],
      [k2, a2],
      [k4, a4],
    ] as const) {
      const mail = await ok<MailView>('GET', `/v1/mail/${mMulti.id}`, token)
      expect(mail).toMatchObject({ id: mMulti.id, from: a1.id, content: 'to many' })
      const entry = await ok<{ set_by: string }>('PUT', `/v1/mail/${mMulti.id}/metadata/by-${agent.name}`, token, { value: agent.name })
      expect(entry.set_by).toBe(agent.id)
    }
    const entries = (await ok<MailView>('GET', `/v1/mail/${mMulti.id}`, k4)).metadata_entries
    expect(entries.map((e) => [e.key, e.set_by])).toEqual([
      ['by-a1', a1.id],
      ['by-a2', a2.id],
      ['by-a4', a4.id],
    ])
    expectProblem(await call('GET', `/v1/mail/${mMulti.id}`, k3), 403, `/v1/mail/${mMulti.id}`, 'forbidden')
  })

  it('reads its own inbox, marks it read, sends as itself and reads itself', async () => {
    const inbox = await ok<InboxList>('GET', `/v1/agents/${a4.id}/inbox`, k4)
    expect(inbox.mail.map((m) => m.id)).toEqual([mMulti.id])
    const reply = await send(A, k4, { from: a4.id, to: [a1.id], parent_id: mMulti.id, content: 'a4 replies' })
    expect(reply.from).toBe(a4.id)
    const both = await ok<InboxList>('GET', `/v1/agents/${a4.id}/inbox?include=sent`, k4)
    expect(both.mail.map((m) => [m.id, m.direction])).toEqual([
      [reply.id, 'sent'],
      [mMulti.id, 'received'],
    ])
    expect(await ok('POST', `/v1/agents/${a4.id}/inbox/read`, k4, { ids: [mMulti.id] })).toEqual({ updated_count: 1 })
    expect(await ok('GET', `/v1/agents/${a4.id}`, k4)).toMatchObject({ id: a4.id, name: 'a4' })
    // a2's copy of the same mail is still unread.
    const a2Copy = (await ok<MailView>('GET', `/v1/mail/${mMulti.id}`, k2)).to.find((to) => to.agent_id === a2.id)
    expect(a2Copy?.read_at).toBeNull()
  })

  it('lists only the conversations it takes part in and sees those', async () => {
    const ofA1 = await ok<ConversationList>('GET', `/v1/gpts/${A}/conversations`, k1)
    expect(ofA1.conversations.map((c) => c.id)).toEqual([cA.id])
    const ofA3 = await ok<ConversationList>('GET', `/v1/gpts/${A}/conversations`, k3)
    expect(ofA3.conversations.map((c) => c.id)).toEqual([cSide.id])
    expect((await ok<ConversationList>('GET', `/v1/gpts/${A}/conversations`, k4)).conversations).toEqual([])
    // The recipient takes part as much as the sender.
    expect((await ok<ConversationView>('GET', `/v1/conversations/${cA.id}`, k2)).title).toBe('a1 and a2')
    const details = await ok<{ messages: MailView[]; unread_count: number }>('GET', `/v1/conversations/${cA.id}/details`, k1)
    expect(details.messages.map((m) => m.id)).toEqual([m12.id])
    expect(details.unread_count).toBe(0)
    expect((await ok<{ unread_count: number }>('GET', `/v1/conversations/${cA.id}/details`, k2)).unread_count).toBe(1)
  })

  it("gets 404, not another GPT's data, for another GPT's flat ids", async () => {
    expectProblem(await call('GET', `/v1/mail/${mB.id}`, k1), 404, `/v1/mail/${mB.id}`, 'not-found')
    expectProblem(await call('GET', `/v1/conversations/${cB.id}`, k1), 404, `/v1/conversations/${cB.id}`, 'not-found')
  })
})

describe('GPT isolation', () => {
  let before: unknown[]

  const snapshotOfB = async () => [
    await ok('GET', `/v1/gpts/${B}/agents`, gptB),
    await ok('GET', `/v1/agents/${b2.id}/inbox?include=sent`, gptB),
    await ok('GET', `/v1/agents/${b1.id}/inbox?include=sent`, gptB),
    await ok('GET', `/v1/mail/${mB.id}`, gptB),
    await ok('GET', `/v1/gpts/${B}/conversations`, gptB),
    await ok('GET', `/v1/conversations/${cB.id}/details`, gptB),
  ]

  beforeAll(async () => {
    before = await snapshotOfB()
  })

  const onBsPaths: { name: string; method: Method; url: () => string; payload?: () => unknown }[] = [
    { name: 'list agents', method: 'GET', url: () => `/v1/gpts/${B}/agents` },
    { name: 'create an agent', method: 'POST', url: () => `/v1/gpts/${B}/agents`, payload: () => ({ name: 'intruder' }) },
    { name: "send mail as B's agent", method: 'POST', url: () => `/v1/gpts/${B}/mail`, payload: () => ({ from: b1.id, to: [b2.id], content: 'forged' }) },
    { name: 'list conversations', method: 'GET', url: () => `/v1/gpts/${B}/conversations` },
    { name: 'create a conversation', method: 'POST', url: () => `/v1/gpts/${B}/conversations`, payload: () => ({ title: 'intrusion' }) },
  ]

  it.each(onBsPaths)("A's key cannot $name under /v1/gpts/B (403)", async ({ method, url, payload }) => {
    const target = url()
    const problem = expectProblem(await call(method, target, gptA, payload?.()), 403, target, 'forbidden')
    expect(problem.detail).toMatch(/another GPT/)
  })

  const flatIds: { name: string; method: Method; url: () => string; payload?: () => unknown }[] = [
    { name: 'read an agent', method: 'GET', url: () => `/v1/agents/${b1.id}` },
    { name: 'change an agent', method: 'PATCH', url: () => `/v1/agents/${b1.id}`, payload: () => ({ name: 'taken over' }) },
    { name: 'delete an agent', method: 'DELETE', url: () => `/v1/agents/${b2.id}` },
    { name: 'read an inbox', method: 'GET', url: () => `/v1/agents/${b2.id}/inbox` },
    { name: 'read an inbox with sent', method: 'GET', url: () => `/v1/agents/${b1.id}/inbox?include=sent` },
    { name: 'mark an inbox read', method: 'POST', url: () => `/v1/agents/${b2.id}/inbox/read`, payload: () => ({ up_to: '2999-01-01T00:00:00Z' }) },
    { name: 'mark mail read by id', method: 'POST', url: () => `/v1/agents/${b2.id}/inbox/read`, payload: () => ({ ids: [mB.id] }) },
    { name: 'read mail', method: 'GET', url: () => `/v1/mail/${mB.id}` },
    { name: 'put metadata on mail', method: 'PUT', url: () => `/v1/mail/${mB.id}/metadata/tag`, payload: () => ({ value: 'x' }) },
    { name: 'read a conversation', method: 'GET', url: () => `/v1/conversations/${cB.id}` },
    { name: "read a conversation's details", method: 'GET', url: () => `/v1/conversations/${cB.id}/details` },
    { name: 'change a conversation', method: 'PATCH', url: () => `/v1/conversations/${cB.id}`, payload: () => ({ archived: true }) },
    { name: 'delete a conversation', method: 'DELETE', url: () => `/v1/conversations/${cB.id}` },
  ]

  it.each(flatIds)("A's key cannot $name of B by its id (404)", async ({ method, url, payload }) => {
    const target = url()
    expectProblem(await call(method, target, gptA, payload?.()), 404, target, 'not-found')
  })

  it("A cannot reach B's agents, conversations or mail through its own mail either", async () => {
    const url = `/v1/gpts/${A}/mail`
    const response = await call('POST', url, gptA, { from: a1.id, to: [b2.id], conversation_id: cB.id, parent_id: mB.id, content: 'leak' })
    const problem = expectProblem(response, 422, url, 'validation-failed')
    expect(problem.errors!.map((e) => e.pointer)).toEqual(['/to/0', '/conversation_id', '/parent_id'])
    const listed = await ok<ConversationList>('GET', `/v1/gpts/${A}/conversations?limit=200`, gptA)
    expect(listed.conversations.map((c) => c.id)).not.toContain(cB.id)
  })

  it("B's data is unchanged", async () => {
    const after = await snapshotOfB()
    expect(after).toEqual(before)
    const mail = after[3] as MailView
    expect(mail).toMatchObject({ content: 'B secret', metadata_entries: [] })
    expect(mail.to).toEqual([{ agent_id: b2.id, read_at: null }])
    expect((after[0] as { agents: AgentView[] }).agents.map((a) => a.name)).toEqual(['a1', 'b2'])
  })
})
