import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

interface AgentView {
  id: string
  gpt_id: string
  name: string
}
interface Recipient {
  agent_id: string
  read_at: string | null
}
interface MetadataEntry {
  key: string
  value: unknown
  set_by: string | null
  updated_at: string
}
interface MailView {
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
interface InboxItem extends MailView {
  direction: 'received' | 'sent'
  read_at: string | null
}
interface InboxList {
  mail: InboxItem[]
  next_cursor: string | null
  has_more: boolean
}
interface ConversationView {
  id: string
  gpt_id: string
  title: string
  description: string | null
  archived: boolean
  metadata: Record<string, unknown>
  created_at: string
  updated_at: string
}
interface ConversationList {
  conversations: ConversationView[]
  next_cursor: string | null
  has_more: boolean
}
interface Details {
  conversation: ConversationView
  messages: MailView[]
  agents: AgentView[]
  total_messages: number
  unread_count: number | Record<string, number>
}

const GPT = 'mail-gpt'
const OTHER = 'mail-other'
const MAIL = `/v1/gpts/${GPT}/mail`
const CONVERSATIONS = `/v1/gpts/${GPT}/conversations`
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const MISSING_ID = '0190a1b2-0000-7000-8000-000000000000'
const MISSING_ID_2 = '0190a1b2-0000-7000-8000-000000000001'
const MAX_MAIL_CHARS = 100
const MAX_RECIPIENTS = 3

let t: TestApp
let gptKey: string
let otherKey: string
let alice: AgentView
let bob: AgentView
let carol: AgentView
/** Of GPT OTHER: an agent, a conversation and a mail there. */
let foreignAgent: AgentView
let foreignConversation: ConversationView
let foreignMail: MailView

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

function call(method: Method, url: string, payload?: unknown, token = gptKey): Promise<LightMyRequestResponse> {
  if (payload === undefined) return t.app.inject({ method, url, headers: bearer(token) })
  return t.app.inject({ method, url, headers: { ...bearer(token), 'content-type': 'application/json' }, payload: JSON.stringify(payload) })
}

async function ok<T>(method: Method, url: string, payload?: unknown, token = gptKey, status = method === 'POST' && !url.endsWith('/read') ? 201 : 200): Promise<T> {
  const response = await call(method, url, payload, token)
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(status)
  return response.json<T>()
}

let agentCount = 0
async function agent(name = `agent-${++agentCount}`, gpt = GPT, token = gptKey): Promise<AgentView> {
  return ok<AgentView>('POST', `/v1/gpts/${gpt}/agents`, { name }, token)
}

async function agentKey(agentId: string, gpt = GPT): Promise<string> {
  return (await t.services.keys.createKey(gpt, { agent_id: agentId, scopes: ['read', 'write'] })).key
}

async function send(from: AgentView, to: AgentView[], extra: Record<string, unknown> = {}, token = gptKey, gpt = GPT): Promise<MailView> {
  return ok<MailView>('POST', `/v1/gpts/${gpt}/mail`, { from: from.id, to: to.map((a) => a.id), content: `from ${from.name}`, ...extra }, token)
}

async function conversation(body: Record<string, unknown> = { title: 'chat' }, gpt = GPT, token = gptKey): Promise<ConversationView> {
  return ok<ConversationView>('POST', `/v1/gpts/${gpt}/conversations`, body, token)
}

async function inbox(agentId: string, query = '', token = gptKey): Promise<InboxList> {
  return ok<InboxList>('GET', `/v1/agents/${agentId}/inbox${query ? `?${query}` : ''}`, undefined, token)
}

const pointers = (response: LightMyRequestResponse) => (response.json<{ errors?: { pointer: string }[] }>().errors ?? []).map((e) => e.pointer)
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

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

describe('sending mail', () => {
  it('answers 201 with the mail, its Location and a recipient row per addressee', async () => {
    const response = await call('POST', MAIL, { from: alice.id, to: [bob.id, carol.id], content: 'hello', type: 'command', metadata: { trace: 'x1' } })
    expect(response.statusCode, response.body).toBe(201)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    const mail = response.json<MailView>()
    expect(mail).toEqual({
      id: expect.stringMatching(UUID_V7),
      gpt_id: GPT,
      from: alice.id,
      to: expect.arrayContaining([
        { agent_id: bob.id, read_at: null },
        { agent_id: carol.id, read_at: null },
      ]),
      conversation_id: null,
      parent_id: null,
      type: 'command',
      importance: 5,
      content: 'hello',
      metadata: { trace: 'x1' },
      metadata_entries: [],
      created_at: expect.stringMatching(ISO),
      edited_at: null,
    })
    expect(mail.to).toHaveLength(2)
    expect(response.headers.location).toBe(`/v1/mail/${mail.id}`)
    expect(await ok<MailView>('GET', `/v1/mail/${mail.id}`)).toEqual(mail)
  })

  it("defaults type to text and importance to 5, and takes 0 and 10", async () => {
    const plain = await send(alice, [bob])
    expect(plain).toMatchObject({ type: 'text', importance: 5, metadata: {} })
    expect((await send(alice, [bob], { importance: 0 })).importance).toBe(0)
    expect((await send(alice, [bob], { importance: 10 })).importance).toBe(10)
  })

  it('takes content of exactly MAX_MAIL_CHARS characters and MAX_RECIPIENTS recipients', async () => {
    const dave = await agent()
    const mail = await send(alice, [bob, carol, dave], { content: 'é'.repeat(MAX_MAIL_CHARS) })
    expect(mail.content).toHaveLength(MAX_MAIL_CHARS)
    expect(mail.to).toHaveLength(MAX_RECIPIENTS)
  })

  // Every reference must be of this GPT: 422 naming each bad one.
  const badReferences: { name: string; body: () => Record<string, unknown>; pointers: string[] }[] = [
    { name: 'unknown from', body: () => ({ from: MISSING_ID, to: [bob.id] }), pointers: ['/from'] },
    { name: 'unknown to[1]', body: () => ({ from: alice.id, to: [bob.id, MISSING_ID] }), pointers: ['/to/1'] },
    { name: 'unknown to[0] and to[2]', body: () => ({ from: alice.id, to: [MISSING_ID, bob.id, MISSING_ID_2] }), pointers: ['/to/0', '/to/2'] },
    { name: 'from: agent of another GPT', body: () => ({ from: foreignAgent.id, to: [bob.id] }), pointers: ['/from'] },
    { name: 'to[0]: agent of another GPT', body: () => ({ from: alice.id, to: [foreignAgent.id, carol.id] }), pointers: ['/to/0'] },
    { name: 'unknown conversation', body: () => ({ from: alice.id, to: [bob.id], conversation_id: MISSING_ID }), pointers: ['/conversation_id'] },
    { name: 'conversation of another GPT', body: () => ({ from: alice.id, to: [bob.id], conversation_id: foreignConversation.id }), pointers: ['/conversation_id'] },
    { name: 'unknown parent', body: () => ({ from: alice.id, to: [bob.id], parent_id: MISSING_ID }), pointers: ['/parent_id'] },
    { name: 'parent from another GPT', body: () => ({ from: alice.id, to: [bob.id], parent_id: foreignMail.id }), pointers: ['/parent_id'] },
    {
      name: 'everything at once',
      body: () => ({ from: MISSING_ID, to: [foreignAgent.id, bob.id], conversation_id: foreignConversation.id, parent_id: foreignMail.id }),
      pointers: ['/from', '/to/0', '/conversation_id', '/parent_id'],
    },
  ]

  it.each(badReferences)('refuses $name with 422 at $pointers', async ({ body, pointers: expected }) => {
    const before = (await inbox(bob.id, 'limit=200')).mail.length
    const response = await call('POST', MAIL, { content: 'ref test', ...body() })
    const problem = expectProblem(response, 422, MAIL, 'validation-failed')
    expect(pointers(response)).toEqual(expected)
    for (const error of problem.errors!) expect(error.message).toMatch(/is not an? (agent|conversation|mail) of this GPT/)
    expect((await inbox(bob.id, 'limit=200')).mail.length).toBe(before)
  })

  const badBodies: { name: string; body: () => Record<string, unknown>; pointer: string }[] = [
    { name: 'importance -1', body: () => ({ importance: -1 }), pointer: '/importance' },
    { name: 'importance 11', body: () => ({ importance: 11 }), pointer: '/importance' },
    { name: 'importance 5.5', body: () => ({ importance: 5.5 }), pointer: '/importance' },
    { name: 'importance "5"', body: () => ({ importance: '5' }), pointer: '/importance' },
    { name: 'empty content', body: () => ({ content: '' }), pointer: '/content' },
    { name: 'content over MAX_MAIL_CHARS', body: () => ({ content: 'x'.repeat(MAX_MAIL_CHARS + 1) }), pointer: '/content' },
    { name: 'missing content', body: () => ({ content: undefined }), pointer: '/content' },
    { name: 'duplicate recipients', body: () => ({ to: [bob.id, carol.id, bob.id] }), pointer: '/to' },
    { name: 'more than MAX_RECIPIENTS', body: () => ({ to: [MISSING_ID, bob.id, carol.id, alice.id] }), pointer: '/to' },
    { name: 'to not an array', body: () => ({ to: bob.id }), pointer: '/to' },
    { name: 'to[1] not a uuid', body: () => ({ to: [bob.id, 'carol'] }), pointer: '/to/1' },
    { name: 'from not a uuid', body: () => ({ from: 'alice' }), pointer: '/from' },
    { name: 'empty type', body: () => ({ type: '' }), pointer: '/type' },
    { name: 'metadata not an object', body: () => ({ metadata: 'x' }), pointer: '/metadata' },
    { name: 'unknown member', body: () => ({ subject: 'hi' }), pointer: '/subject' },
  ]

  it.each(badBodies)('refuses $name with 422 at $pointer', async ({ body, pointer }) => {
    const before = (await inbox(bob.id, 'limit=200')).mail.length
    const response = await call('POST', MAIL, { from: alice.id, to: [bob.id], content: 'body test', ...body() })
    const problem = expectProblem(response, 422, MAIL, 'validation-failed')
    expect(pointers(response)).toEqual([pointer])
    expect(problem.errors![0]!.location).toBe('body')
    expect((await inbox(bob.id, 'limit=200')).mail.length).toBe(before)
  })

  it('answers 404 for unknown mail and 422 for a malformed id', async () => {
    expectProblem(await call('GET', `/v1/mail/${MISSING_ID}`), 404, `/v1/mail/${MISSING_ID}`, 'not-found')
    const bad = await call('GET', '/v1/mail/123')
    expectProblem(bad, 422, '/v1/mail/123', 'validation-failed')
    expect(pointers(bad)).toEqual(['/id'])
  })
})

describe('threading', () => {
  it('a reply names its parent; deleting the parent (with its sender) keeps the reply with parent_id null', async () => {
    const temp = await agent('temp-sender')
    const parent = await send(temp, [bob], { content: 'question' })
    const reply = await send(bob, [carol], { parent_id: parent.id, content: 'answer' })
    expect(reply.parent_id).toBe(parent.id)
    const grandchild = await send(carol, [bob], { parent_id: reply.id })
    expect(grandchild.parent_id).toBe(reply.id)
    expect((await ok<MailView>('GET', `/v1/mail/${reply.id}`)).parent_id).toBe(parent.id)

    expect((await call('DELETE', `/v1/agents/${temp.id}`)).statusCode).toBe(204)
    expectProblem(await call('GET', `/v1/mail/${parent.id}`), 404, `/v1/mail/${parent.id}`, 'not-found')
    const orphan = await ok<MailView>('GET', `/v1/mail/${reply.id}`)
    expect(orphan).toMatchObject({ id: reply.id, parent_id: null, content: 'answer', from: bob.id })
    expect((await ok<MailView>('GET', `/v1/mail/${grandchild.id}`)).parent_id).toBe(reply.id)
  })

  it('deleting a conversation takes its mail, and a reply outside it loses only its parent_id', async () => {
    const chat = await conversation({ title: 'short-lived' })
    const parent = await send(alice, [bob], { conversation_id: chat.id })
    const inside = await send(bob, [alice], { conversation_id: chat.id, parent_id: parent.id })
    const outside = await send(bob, [carol], { parent_id: parent.id })
    expect((await call('DELETE', `/v1/conversations/${chat.id}`)).statusCode).toBe(204)
    for (const gone of [parent, inside]) expectProblem(await call('GET', `/v1/mail/${gone.id}`), 404, `/v1/mail/${gone.id}`, 'not-found')
    expect((await ok<MailView>('GET', `/v1/mail/${outside.id}`)).parent_id).toBeNull()
    expect((await inbox(alice.id, 'limit=200')).mail.some((m) => m.id === inside.id)).toBe(false)
  })
})

describe('inbox', () => {
  let a: AgentView
  let b: AgentView
  let c: AgentView
  let chat: ConversationView
  /** m1 b→a (importance 2), m2 a→b, m3 c→a (9, in chat), m4 a→a, m5 a→[a, c] (7). */
  let m: MailView[]

  beforeAll(async () => {
    ;[a, b, c] = [await agent('inbox-a'), await agent('inbox-b'), await agent('inbox-c')]
    chat = await conversation({ title: 'inbox chat' })
    m = [
      await send(b, [a], { importance: 2 }),
      await send(a, [b]),
      await send(c, [a], { importance: 9, conversation_id: chat.id }),
      await send(a, [a]),
      await send(a, [a, c], { importance: 7 }),
    ]
  })

  const ids = (list: InboxList) => list.mail.map((item) => item.id)

  it('lists received mail newest first, each as received and unread', async () => {
    const list = await inbox(a.id)
    expect(ids(list)).toEqual([m[4]!.id, m[3]!.id, m[2]!.id, m[0]!.id])
    expect(list.has_more).toBe(false)
    expect(list.next_cursor).toBeNull()
    for (const item of list.mail) expect(item).toMatchObject({ direction: 'received', read_at: null })
    expect(list.mail[1]).toMatchObject({ from: a.id, to: [{ agent_id: a.id, read_at: null }], content: 'from inbox-a' })
    expect(ids(await inbox(a.id, 'order=asc'))).toEqual([m[0]!.id, m[2]!.id, m[3]!.id, m[4]!.id])
  })

  it('include=sent lists both directions, mail to oneself once', async () => {
    const list = await inbox(a.id, 'include=sent')
    expect(ids(list)).toEqual([m[4]!.id, m[3]!.id, m[2]!.id, m[1]!.id, m[0]!.id])
    expect(list.mail.map((item) => item.direction)).toEqual(['received', 'received', 'received', 'sent', 'received'])
    expect(list.mail[3]!.read_at).toBeNull()
    const ofB = await inbox(b.id, 'include=sent')
    expect(ids(ofB)).toEqual([m[1]!.id, m[0]!.id])
    expect(ofB.mail.map((item) => item.direction)).toEqual(['received', 'sent'])
    const ofC = await inbox(c.id, 'include=sent')
    expect(ofC.mail.map((item) => [item.id, item.direction])).toEqual([
      [m[4]!.id, 'received'],
      [m[2]!.id, 'sent'],
    ])
  })

  it('filters by conversation_id and min_importance, also with include=sent', async () => {
    expect(ids(await inbox(a.id, `conversation_id=${chat.id}`))).toEqual([m[2]!.id])
    expect(ids(await inbox(c.id, `include=sent&conversation_id=${chat.id}`))).toEqual([m[2]!.id])
    expect(ids(await inbox(b.id, `conversation_id=${chat.id}`))).toEqual([])
    expect(ids(await inbox(a.id, 'min_importance=5'))).toEqual([m[4]!.id, m[3]!.id, m[2]!.id])
    expect(ids(await inbox(a.id, 'min_importance=8'))).toEqual([m[2]!.id])
    expect(ids(await inbox(a.id, 'min_importance=0'))).toHaveLength(4)
    expect(ids(await inbox(b.id, 'include=sent&min_importance=3'))).toEqual([m[1]!.id])
  })

  it('unread=true drops what was read, and the read mail shows read_at', async () => {
    const d = await agent('inbox-d')
    const first = await send(b, [d])
    const second = await send(c, [d])
    const third = await send(b, [d])
    const marked = await ok<{ updated_count: number }>('POST', `/v1/agents/${d.id}/inbox/read`, { ids: [second.id] })
    expect(marked).toEqual({ updated_count: 1 })
    expect(ids(await inbox(d.id, 'unread=true'))).toEqual([third.id, first.id])
    const all = await inbox(d.id)
    expect(ids(all)).toEqual([third.id, second.id, first.id])
    expect(all.mail[1]!.read_at).toMatch(ISO)
    expect(all.mail[1]!.to).toEqual([{ agent_id: d.id, read_at: all.mail[1]!.read_at }])
    expect(all.mail[0]!.read_at).toBeNull()
    // Sent mail has no read state: unread=true lists received mail only, even with include=sent.
    await send(d, [b])
    expect(ids(await inbox(d.id, 'unread=true&include=sent'))).toEqual([third.id, first.id])
  })

  it('walks every page with the cursor and Link, newest first, in both lists', async () => {
    const r = await agent('inbox-paged')
    const sent: MailView[] = []
    for (let i = 0; i < 7; i++) sent.push(i % 3 === 2 ? await send(r, [b], { content: `out ${i}` }) : await send(b, [r], { content: `in ${i}` }))
    const walk = async (query: string) => {
      const seen: InboxItem[] = []
      let url: string | null = `/v1/agents/${r.id}/inbox?${query}`
      let pages = 0
      while (url !== null) {
        const response = await call('GET', url)
        expect(response.statusCode, response.body).toBe(200)
        const page = response.json<InboxList>()
        seen.push(...page.mail)
        pages++
        expect(pages).toBeLessThan(20)
        if (page.has_more) {
          expect(page.mail).toHaveLength(2)
          const link = response.headers.link as string
          expect(link).toMatch(/^<http:\/\/agentstore\.test\/v1\/agents\/[^>]+>; rel="next"$/)
          const target = new URL(/^<([^>]+)>/.exec(link)![1]!)
          expect(target.searchParams.get('cursor')).toBe(page.next_cursor)
          url = `${target.pathname}${target.search}`
        } else {
          expect(page.next_cursor).toBeNull()
          expect(response.headers.link).toBeUndefined()
          url = null
        }
      }
      return { seen, pages }
    }
    const received = await walk('limit=2')
    const expectedReceived = sent.filter((_, i) => i % 3 !== 2).reverse()
    expect(received.seen.map((item) => item.id)).toEqual(expectedReceived.map((item) => item.id))
    expect(received.pages).toBe(3)
    const both = await walk('limit=2&include=sent')
    expect(both.seen.map((item) => item.id)).toEqual([...sent].reverse().map((item) => item.id))
    expect(both.seen.map((item) => item.direction)).toEqual(['received', 'sent', 'received', 'received', 'sent', 'received', 'received'])
    expect(both.pages).toBe(4)

    // A cursor of one list is refused by another.
    const cursor = (await inbox(r.id, 'limit=2')).next_cursor!
    const url = `/v1/agents/${r.id}/inbox?include=sent&cursor=${cursor}`
    expectProblem(await call('GET', url), 400, url, 'invalid-cursor')
  })

  it.each([
    { query: 'min_importance=11', pointer: '/min_importance' },
    { query: 'min_importance=-1', pointer: '/min_importance' },
    { query: 'include=received', pointer: '/include' },
    { query: 'conversation_id=chat', pointer: '/conversation_id' },
    { query: 'unread=maybe', pointer: '/unread' },
    { query: 'limit=0', pointer: '/limit' },
  ])('refuses ?$query with 422 at $pointer', async ({ query, pointer }) => {
    const url = `/v1/agents/${a.id}/inbox?${query}`
    const response = await call('GET', url)
    const problem = expectProblem(response, 422, url, 'validation-failed')
    expect(pointers(response)).toEqual([pointer])
    expect(problem.errors![0]!.location).toBe('query')
  })

  it('answers 404 for the inbox of an unknown agent', async () => {
    const url = `/v1/agents/${MISSING_ID}/inbox`
    expectProblem(await call('GET', url), 404, url, 'not-found')
    expectProblem(await call('POST', `${url}/read`, { ids: [MISSING_ID] }), 404, `${url}/read`, 'not-found')
  })
})

describe('marking mail read', () => {
  let sender: AgentView
  let r1: AgentView
  let r2: AgentView
  let r1Key: string
  let mails: MailView[]
  let upTo: string

  beforeAll(async () => {
    ;[sender, r1, r2] = [await agent('mr-sender'), await agent('mr-1'), await agent('mr-2')]
    r1Key = await agentKey(r1.id)
    mails = [await send(sender, [r1, r2]), await send(sender, [r1, r2]), await send(sender, [r1, r2])]
    upTo = mails[2]!.created_at
    await pause(15)
    mails.push(await send(sender, [r1, r2]))
    expect(Date.parse(mails[3]!.created_at)).toBeGreaterThan(Date.parse(upTo))
  })

  const unread = async (agentId: string) => (await inbox(agentId, 'unread=true')).mail.map((item) => item.id)

  it('counts only the caller’s unread rows up to the time, leaving other agents’ rows alone', async () => {
    // One of them read by id first: not counted again.
    expect(await ok('POST', `/v1/agents/${r1.id}/inbox/read`, { ids: [mails[0]!.id] }, r1Key)).toEqual({ updated_count: 1 })
    const response = await call('POST', `/v1/agents/${r1.id}/inbox/read`, { up_to: upTo }, r1Key)
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    expect(response.json()).toEqual({ updated_count: 2 })
    expect(await unread(r1.id)).toEqual([mails[3]!.id])
    // r2's rows of the same mail are untouched.
    expect(await unread(r2.id)).toEqual([...mails].reverse().map((mail) => mail.id))
    const seen = await ok<MailView>('GET', `/v1/mail/${mails[1]!.id}`)
    expect(seen.to.find((to) => to.agent_id === r1.id)!.read_at).toMatch(ISO)
    expect(seen.to.find((to) => to.agent_id === r2.id)!.read_at).toBeNull()
    // Again: nothing left to mark.
    expect(await ok('POST', `/v1/agents/${r1.id}/inbox/read`, { up_to: upTo }, r1Key)).toEqual({ updated_count: 0 })
    // A GPT key marks any agent's inbox; a time before everything marks nothing.
    expect(await ok('POST', `/v1/agents/${r2.id}/inbox/read`, { up_to: '2000-01-01T00:00:00Z' })).toEqual({ updated_count: 0 })
    expect(await ok('POST', `/v1/agents/${r2.id}/inbox/read`, { up_to: '2999-01-01T00:00:00Z' })).toEqual({ updated_count: 4 })
    expect(await unread(r2.id)).toEqual([])
    expect(await unread(r1.id)).toEqual([mails[3]!.id])
  })

  it('by ids counts only the caller’s unread rows among them', async () => {
    const fresh = await send(sender, [r1])
    const notForR1 = await send(sender, [r2])
    const result = await ok('POST', `/v1/agents/${r1.id}/inbox/read`, { ids: [fresh.id, mails[0]!.id, notForR1.id, MISSING_ID, mails[3]!.id] }, r1Key)
    expect(result).toEqual({ updated_count: 2 })
    expect(await unread(r1.id)).toEqual([])
    expect(await unread(r2.id)).toEqual([notForR1.id])
    // The sender's "inbox" holds none of it.
    expect(await ok('POST', `/v1/agents/${sender.id}/inbox/read`, { ids: [notForR1.id] })).toEqual({ updated_count: 0 })
    expect(await unread(r2.id)).toEqual([notForR1.id])
  })

  it.each([
    { name: 'empty body', body: {} },
    { name: 'up_to not a time', body: { up_to: 'yesterday' } },
    { name: 'empty ids', body: { ids: [] } },
    { name: 'ids not uuids', body: { ids: ['x'] } },
    { name: 'both up_to and ids', body: { up_to: '2999-01-01T00:00:00Z', ids: [MISSING_ID] } },
  ])('refuses $name with 422 and marks nothing', async ({ body }) => {
    const lonely = await send(sender, [r2])
    const url = `/v1/agents/${r2.id}/inbox/read`
    const problem = expectProblem(await call('POST', url, body), 422, url, 'validation-failed')
    expect(problem.errors!.length).toBeGreaterThan(0)
    expect(await unread(r2.id)).toContain(lonely.id)
  })
})

describe('mail metadata', () => {
  let mail: MailView
  let bobKey: string
  let aliceKey: string

  beforeAll(async () => {
    mail = await send(alice, [bob], { metadata: { fixed: true } })
    bobKey = await agentKey(bob.id)
    aliceKey = await agentKey(alice.id)
  })

  it('PUT sets a note, attributed to the agent of the key, listed with the mail', async () => {
    const url = `/v1/mail/${mail.id}/metadata/status`
    const response = await call('PUT', url, { value: 'seen' }, bobKey)
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json()).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      key: 'status',
      value: 'seen',
      set_by: bob.id,
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
    })
    const byGpt = await ok('PUT', `/v1/mail/${mail.id}/metadata/priority`, { value: { level: 2, tags: ['a'] } })
    expect(byGpt).toMatchObject({ key: 'priority', value: { level: 2, tags: ['a'] }, set_by: null })

    const read = await ok<MailView>('GET', `/v1/mail/${mail.id}`, undefined, aliceKey)
    expect(read.metadata).toEqual({ fixed: true })
    expect(read.metadata_entries).toEqual([
      expect.objectContaining({ key: 'priority', value: { level: 2, tags: ['a'] }, set_by: null, updated_at: expect.stringMatching(ISO) }),
      expect.objectContaining({ key: 'status', value: 'seen', set_by: bob.id, updated_at: expect.stringMatching(ISO) }),
    ])
  })

  it('PUT again replaces the value and who set it', async () => {
    await ok('PUT', `/v1/mail/${mail.id}/metadata/owner`, { value: 'bob' }, bobKey)
    const replaced = await ok<MetadataEntry>('PUT', `/v1/mail/${mail.id}/metadata/owner`, { value: 'alice' }, aliceKey)
    expect(replaced).toMatchObject({ key: 'owner', value: 'alice', set_by: alice.id })
    const entries = (await ok<MailView>('GET', `/v1/mail/${mail.id}`)).metadata_entries.filter((e) => e.key === 'owner')
    expect(entries).toEqual([{ ...replaced, key: 'owner', value: 'alice', set_by: alice.id, updated_at: replaced.updated_at }])
  })

  it.each([
    ['a number', 42],
    ['a boolean', false],
    ['an array', [1, 'two']],
    ['null', null],
  ])('keeps %s as the value', async (_label, value) => {
    const key = `value-${typeof value}-${Array.isArray(value) ? 'array' : String(value)}`
    await ok('PUT', `/v1/mail/${mail.id}/metadata/${key}`, { value })
    const entry = (await ok<MailView>('GET', `/v1/mail/${mail.id}`)).metadata_entries.find((e) => e.key === key)
    expect(entry?.value).toEqual(value)
  })

  it.each([
    { name: 'a key with a space', key: 'bad%20key', body: { value: 1 }, pointer: '/key' },
    { name: 'no value', key: 'fine', body: {}, pointer: '/value' },
    { name: 'an extra member', key: 'fine', body: { value: 1, by: 'me' }, pointer: '/by' },
  ])('refuses $name with 422 at $pointer', async ({ key, body, pointer }) => {
    const url = `/v1/mail/${mail.id}/metadata/${key}`
    const response = await call('PUT', url, body)
    expectProblem(response, 422, url, 'validation-failed')
    expect(pointers(response)).toEqual([pointer])
  })

  it('answers 404 for unknown mail', async () => {
    const url = `/v1/mail/${MISSING_ID}/metadata/x`
    expectProblem(await call('PUT', url, { value: 1 }), 404, url, 'not-found')
  })
})

describe('conversations', () => {
  const CONV_GPT = 'mail-conv'
  const LIST = `/v1/gpts/${CONV_GPT}/conversations`
  let key: string
  let made: ConversationView[]

  beforeAll(async () => {
    key = (await createGptWithKey(t.services, CONV_GPT)).token
    made = []
    made.push(await conversation({ title: 'one', metadata: { team: 'red', tier: 1 } }, CONV_GPT, key))
    made.push(await conversation({ title: 'two', archived: true, metadata: { team: 'blue' } }, CONV_GPT, key))
    made.push(await conversation({ title: 'three', description: 'third', metadata: { team: 'red', tier: 2, tags: ['x', 'y'] } }, CONV_GPT, key))
    made.push(await conversation({ title: 'four', archived: true, metadata: { team: 'red', tier: 2 } }, CONV_GPT, key))
  })

  const titles = (list: ConversationList) => list.conversations.map((c) => c.title)
  const list = (query = '') => ok<ConversationList>('GET', `${LIST}${query ? `?${query}` : ''}`, undefined, key)

  it('create answers 201 with Location and the defaults', async () => {
    const response = await call('POST', CONVERSATIONS, { title: 'fresh' })
    expect(response.statusCode, response.body).toBe(201)
    const created = response.json<ConversationView>()
    expect(created).toEqual({
      id: expect.stringMatching(UUID_V7),
      gpt_id: GPT,
      title: 'fresh',
      description: null,
      archived: false,
      metadata: {},
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
    })
    expect(response.headers.location).toBe(`/v1/conversations/${created.id}`)
    expect(await ok('GET', `/v1/conversations/${created.id}`)).toEqual(created)
  })

  it.each([
    { name: 'no title', body: {}, pointer: '/title' },
    { name: 'empty title', body: { title: '' }, pointer: '/title' },
    { name: 'archived not a boolean', body: { title: 'x', archived: 'yes' }, pointer: '/archived' },
    { name: 'metadata not an object', body: { title: 'x', metadata: [] }, pointer: '/metadata' },
  ])('create refuses $name with 422 at $pointer', async ({ body, pointer }) => {
    const response = await call('POST', CONVERSATIONS, body)
    expectProblem(response, 422, CONVERSATIONS, 'validation-failed')
    expect(pointers(response)).toEqual([pointer])
  })

  it('lists newest first, and pages', async () => {
    expect(titles(await list())).toEqual(['four', 'three', 'two', 'one'])
    const first = await list('limit=3')
    expect(titles(first)).toEqual(['four', 'three', 'two'])
    expect(first.has_more).toBe(true)
    const second = await list(`limit=3&cursor=${first.next_cursor}`)
    expect(titles(second)).toEqual(['one'])
    expect(second.has_more).toBe(false)
    expect(titles(await list('order=asc'))).toEqual(['one', 'two', 'three', 'four'])
  })

  it.each([
    { query: 'archived=true', expected: ['four', 'two'] },
    { query: 'archived=false', expected: ['three', 'one'] },
    { query: `where=${encodeURIComponent('{"team":"red"}')}`, expected: ['four', 'three', 'one'] },
    { query: `where=${encodeURIComponent('{"team":"red","tier":2}')}`, expected: ['four', 'three'] },
    { query: `where=${encodeURIComponent('{"tags":["y"]}')}`, expected: ['three'] },
    { query: `where=${encodeURIComponent('{"team":"green"}')}`, expected: [] },
    { query: `where=${encodeURIComponent('{}')}`, expected: ['four', 'three', 'two', 'one'] },
    { query: `archived=false&where=${encodeURIComponent('{"tier":2}')}`, expected: ['three'] },
  ])('filters ?$query', async ({ query, expected }) => {
    expect(titles(await list(query))).toEqual(expected)
  })

  it.each([
    { query: 'where=%7Bnot-json', pointer: '/where' },
    { query: `where=${encodeURIComponent('[1]')}`, pointer: '/where' },
    { query: `where=${encodeURIComponent('"red"')}`, pointer: '/where' },
    { query: 'archived=perhaps', pointer: '/archived' },
  ])('refuses ?$query with 422', async ({ query, pointer }) => {
    const url = `${LIST}?${query}`
    const response = await call('GET', url, undefined, key)
    const problem = expectProblem(response, 422, url, 'validation-failed')
    expect(pointers(response)).toEqual([pointer])
    expect(problem.errors![0]!.location).toBe('query')
  })

  it('PATCH changes fields and merges metadata', async () => {
    const target = made[0]!
    const url = `/v1/conversations/${target.id}`
    await pause(5)
    const patched = await ok<ConversationView>('PATCH', url, { title: 'one!', archived: true, description: 'now described', metadata: { tier: 5, extra: 'y' } }, key)
    expect(patched).toMatchObject({ id: target.id, title: 'one!', archived: true, description: 'now described', metadata: { team: 'red', tier: 5, extra: 'y' }, created_at: target.created_at })
    expect(Date.parse(patched.updated_at)).toBeGreaterThan(Date.parse(target.updated_at))
    expect(await ok('GET', url, undefined, key)).toEqual(patched)
    expect(titles(await list('archived=true'))).toContain('one!')
    const cleared = await ok<ConversationView>('PATCH', url, { description: null, archived: false }, key)
    expect(cleared).toMatchObject({ description: null, archived: false, title: 'one!' })
    const empty = await call('PATCH', url, {}, key)
    expectProblem(empty, 422, url, 'validation-failed')
    expectProblem(await call('PATCH', `/v1/conversations/${MISSING_ID}`, { title: 'x' }, key), 404, `/v1/conversations/${MISSING_ID}`, 'not-found')
  })

  it('DELETE answers 204, then 404, and deletes its mail', async () => {
    const doomed = await conversation({ title: 'doomed' })
    const inside = await send(alice, [bob], { conversation_id: doomed.id })
    const outside = await send(alice, [bob])
    const url = `/v1/conversations/${doomed.id}`
    const response = await call('DELETE', url)
    expect(response.statusCode).toBe(204)
    expect(response.body).toBe('')
    expectProblem(await call('GET', url), 404, url, 'not-found')
    expectProblem(await call('GET', `${url}/details`), 404, `${url}/details`, 'not-found')
    expectProblem(await call('DELETE', url), 404, url, 'not-found')
    expectProblem(await call('GET', `/v1/mail/${inside.id}`), 404, `/v1/mail/${inside.id}`, 'not-found')
    const bobs = (await inbox(bob.id, 'limit=200')).mail.map((item) => item.id)
    expect(bobs).toContain(outside.id)
    expect(bobs).not.toContain(inside.id)
  })
})

describe('conversation details', () => {
  let chat: ConversationView
  let x: AgentView
  let y: AgentView
  let z: AgentView
  let w: AgentView
  let m: MailView[]

  beforeAll(async () => {
    ;[x, y, z, w] = [await agent('det-x'), await agent('det-y'), await agent('det-z'), await agent('det-w')]
    chat = await conversation({ title: 'details', metadata: { k: 1 } })
    m = []
    m.push(await send(x, [y, z], { conversation_id: chat.id, content: 'first' }))
    m.push(await send(y, [x], { conversation_id: chat.id, parent_id: m[0]!.id, content: 'second' }))
    m.push(await send(z, [x, y], { conversation_id: chat.id, content: 'third' }))
    // w only sends.
    m.push(await send(w, [x], { conversation_id: chat.id, content: 'fourth', importance: 9 }))
    // Mail outside the conversation is not counted.
    await send(x, [y])
    expect(await ok('POST', `/v1/agents/${y.id}/inbox/read`, { ids: [m[0]!.id] })).toEqual({ updated_count: 1 })
  })

  it('a GPT key gets the conversation, its messages in order with read state, the agents and per-agent unread counts', async () => {
    const details = await ok<Details>('GET', `/v1/conversations/${chat.id}/details`)
    expect(details.conversation).toEqual(chat)
    expect(details.messages.map((mail) => mail.content)).toEqual(['first', 'second', 'third', 'fourth'])
    expect(details.messages.map((mail) => mail.id)).toEqual(m.map((mail) => mail.id))
    const first = details.messages[0]!
    expect(first.from).toBe(x.id)
    expect(first.to).toHaveLength(2)
    expect(first.to.find((to) => to.agent_id === y.id)!.read_at).toMatch(ISO)
    expect(first.to.find((to) => to.agent_id === z.id)!.read_at).toBeNull()
    expect(details.messages[1]!.parent_id).toBe(m[0]!.id)
    expect(details.messages[3]!.importance).toBe(9)
    expect(details.agents.map((agent) => agent.id).sort()).toEqual([x.id, y.id, z.id, w.id].sort())
    expect(details.agents.find((agent) => agent.id === w.id)).toMatchObject({ name: 'det-w', gpt_id: GPT })
    expect(details.total_messages).toBe(4)
    // x: second, third, fourth; y: third (first was read); z: first; w received nothing.
    expect(details.unread_count).toEqual({ [x.id]: 3, [y.id]: 1, [z.id]: 1, [w.id]: 0 })
  })

  it.each([
    { who: 'x', unread: 3, sees: ['first', 'second', 'third', 'fourth'] },
    { who: 'y', unread: 1, sees: ['first', 'second', 'third'] },
    { who: 'z', unread: 1, sees: ['first', 'third'] },
    { who: 'w', unread: 0, sees: ['fourth'] },
  ])('an agent key of $who gets its own unread count ($unread) as a number, and only the mail it sent or received', async ({ who, unread, sees }) => {
    const target = { x, y, z, w }[who as 'x' | 'y' | 'z' | 'w']
    const details = await ok<Details>('GET', `/v1/conversations/${chat.id}/details`, undefined, await agentKey(target.id))
    expect(details.unread_count).toBe(unread)
    expect(details.messages.map((mail) => mail.content)).toEqual(sees)
    expect(details.total_messages).toBe(sees.length)
  })

  it('follows reads: marking all read zeroes the count', async () => {
    const xKey = await agentKey(x.id)
    expect(await ok('POST', `/v1/agents/${x.id}/inbox/read`, { up_to: '2999-01-01T00:00:00Z' }, xKey)).toEqual({ updated_count: expect.any(Number) })
    expect((await ok<Details>('GET', `/v1/conversations/${chat.id}/details`, undefined, xKey)).unread_count).toBe(0)
    expect((await ok<Details>('GET', `/v1/conversations/${chat.id}/details`)).unread_count).toMatchObject({ [x.id]: 0, [z.id]: 1 })
  })

  it('an empty conversation has no messages, no agents and zero counts', async () => {
    const empty = await conversation({ title: 'silent' })
    const details = await ok<Details>('GET', `/v1/conversations/${empty.id}/details`)
    expect(details).toEqual({ conversation: empty, messages: [], agents: [], total_messages: 0, unread_count: {} })
  })
})

describe('conversation list `where` holding text PostgreSQL cannot compare', () => {
  it.each([
    { where: '{"p":"\\u0000"}', message: /U\+0000/ },
    { where: '{"p":"\\ud800"}', message: /surrogate/ },
    { where: '[1]', message: /JSON object/ },
    { where: '{nope', message: /JSON object/ },
  ])('where=$where → 422', async ({ where, message }) => {
    const url = `/v1/gpts/${GPT}/conversations?where=${encodeURIComponent(where)}`
    const response = await call('GET', url)
    const problem = expectProblem(response, 422, url)
    expect(problem.errors).toEqual([{ pointer: '/where', location: 'query', message: expect.stringMatching(message) }])
  })
})
