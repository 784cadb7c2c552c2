import type { AddressInfo } from 'node:net'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inboxEventId } from '../src/modules/mail/mail.service.js'
import { expectProblem } from './helpers/problem.js'
import { openSseStream, type SseStream } from './helpers/sse.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type HttpMethod, type TestApp } from './helpers/test-app.js'

/**
 * One rule for mail: a key bound to an agent sees a mail only when that agent sent or received it.
 * Every route an agent key can reach is walked with the keys of agents that are not party to some
 * mail (they must never see its content, sender or recipients) and of agents that are (they must).
 */

interface AgentView {
  id: string
}
interface MailView {
  id: string
  content: string
}

const GPT = 'party-gpt'
const MISSING_ID = '0190a1b2-0000-7000-8000-000000000000'

let t: TestApp
let base: string
let gptKey: string
interface Viewer {
  agent: string
  token: string
}
/** a1 and a2 talk in `shared`; a3 writes to a4 there, in `hidden` and outside any conversation. */
let a1: Viewer
let a2: Viewer
let a3: Viewer
let a4: Viewer
let shared: string
let hidden: string
let secrets: MailView[]
/** A metadata entry a3 set on its mail outside conversations. */
let secretNote: string
const streams: SseStream[] = []

async function ok<T>(method: HttpMethod, url: string, token: string, payload?: unknown, status = method === 'POST' ? 201 : 200): Promise<T> {
  const response = await injectJson(t.app, method, url, bearer(token), payload)
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(status)
  return response.json<T>()
}

async function viewer(name: string): Promise<Viewer> {
  const { id } = await ok<AgentView>('POST', `/v1/gpts/${GPT}/agents`, gptKey, { name })
  return { agent: id, token: (await t.services.keys.createKey(GPT, { agent_id: id, scopes: ['read', 'write'] })).key }
}

const send = (from: Viewer, to: Viewer[], content: string, conversationId?: string) =>
  ok<MailView>('POST', `/v1/gpts/${GPT}/mail`, from.token, { from: from.agent, to: to.map((v) => v.agent), content, conversation_id: conversationId })

/** Everything that would give a secret mail away to an outsider: its content, its id, its sender and recipient, the conversation only it is in. */
const giveaways = () => [...secrets.flatMap((mail) => [mail.id, mail.content]), a3.agent, a4.agent, hidden]

/** What a key sees through one route: a refusal, or the text of a 200 answer. */
type Seen = { refused: true } | { refused: false; text: string }

function seen(response: LightMyRequestResponse): Seen {
  if (response.statusCode === 403 || response.statusCode === 404) return { refused: true }
  expect(response.statusCode, response.body).toBe(200)
  return { refused: false, text: response.body }
}

/** Reads an inbox stream replayed from the start, up to a mail the test sends to the viewer last. */
async function replay(v: Viewer, marker: string): Promise<Seen> {
  const from = inboxEventId(new Date(0), '00000000-0000-0000-0000-000000000000')
  const stream = await openSseStream(`${base}/v1/agents/${v.agent}/inbox/stream`, { ...bearer(v.token), 'last-event-id': from })
  streams.push(stream)
  expect(stream.status).toBe(200)
  await stream.waitFor(marker, (s) => s.mail().some((mail) => mail.content === marker), 5000)
  stream.close()
  return { refused: false, text: stream.raw }
}

interface Route {
  /** The route as the OpenAPI document names it. */
  operation: string
  read: (v: Viewer) => Promise<Seen>
  /** What a party sees there of the secret mail (a string that must appear). */
  partySees: () => string
  /** Which parties see it (an inbox stream shows received mail only). */
  parties?: 'all' | 'recipients'
}

const get = async (url: string, v: Viewer) => seen(await injectJson(t.app, 'GET', url, bearer(v.token)))

/** A tool call over MCP (POST /mcp, stateless: no initialize needed); a 403 or 404 tool error is a refusal. */
async function tool(v: Viewer, name: string, args: Record<string, unknown>): Promise<Seen> {
  const response = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { ...bearer(v.token), 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }),
  })
  const text = await response.text()
  expect(response.status, text).toBe(200)
  const { result } = JSON.parse(text) as { result: { isError?: boolean; content: { text: string }[] } }
  if (result.isError) {
    expect(result.content[0]!.text).toMatch(/\((403|404)\):/)
    return { refused: true }
  }
  return { refused: false, text }
}

/** A catalogue operation through the GPT Action route. */
const action = async (v: Viewer, name: string, args: Record<string, unknown>) =>
  seen(await injectJson(t.app, 'POST', `/v1/gpts/${GPT}/actions/${name}`, bearer(v.token), args))

const routes: Route[] = [
  ...[0, 1, 2].map((index) => ({
    operation: 'GET /v1/mail/{id}',
    read: (v: Viewer) => get(`/v1/mail/${secrets[index]!.id}`, v),
    partySees: () => secrets[index]!.content,
  })),
  { operation: 'GET /v1/conversations/{id}/details', read: (v) => get(`/v1/conversations/${shared}/details`, v), partySees: () => secrets[0]!.content },
  { operation: 'GET /v1/conversations/{id}/details', read: (v) => get(`/v1/conversations/${hidden}/details`, v), partySees: () => secrets[1]!.content },
  { operation: 'GET /v1/conversations/{id}', read: (v) => get(`/v1/conversations/${hidden}`, v), partySees: () => hidden },
  { operation: 'GET /v1/gpts/{gpt_id}/conversations', read: (v) => get(`/v1/gpts/${GPT}/conversations?limit=100`, v), partySees: () => hidden },
  { operation: 'GET /v1/agents/{id}/inbox', read: (v) => get(`/v1/agents/${v.agent}/inbox?include=sent&limit=100`, v), partySees: () => secrets[2]!.content },
  { operation: 'GET /v1/agents/{id}/inbox', read: (v) => get(`/v1/agents/${v.agent}/inbox?conversation_id=${shared}&include=sent`, v), partySees: () => secrets[0]!.content },
  { operation: 'GET /v1/agents/{id}/inbox', read: (v) => get(`/v1/agents/${v.agent}/inbox?unread=true&limit=100`, v), partySees: () => secrets[1]!.content, parties: 'recipients' },
  { operation: 'POST /mcp', read: (v) => tool(v, 'read_inbox', { agent_id: v.agent, include: 'sent', limit: 100 }), partySees: () => secrets[2]!.content },
  { operation: 'POST /mcp', read: (v) => tool(v, 'read_inbox', { agent_id: a4.agent, conversation_id: shared }), partySees: () => secrets[0]!.content, parties: 'recipients' },
  { operation: 'POST /mcp', read: (v) => tool(v, 'list_conversations', { limit: 100 }), partySees: () => hidden },
  {
    operation: 'POST /v1/gpts/{gpt_id}/actions/{operation}',
    read: (v) => action(v, 'read_inbox', { agent_id: v.agent, include: 'sent', limit: 100 }),
    partySees: () => secrets[2]!.content,
  },
  { operation: 'POST /v1/gpts/{gpt_id}/actions/{operation}', read: (v) => action(v, 'list_conversations', { limit: 100 }), partySees: () => hidden },
  { operation: 'GET /v1/mail-metadata/{id}', read: (v) => get(`/v1/mail-metadata/${secretNote}`, v), partySees: () => 'a secret note' },
  {
    operation: 'GET /v1/agents/{id}/inbox/stream',
    read: async (v) => {
      const marker = `replay marker for ${v.agent}`
      await send(a2, [v], marker)
      return replay(v, marker)
    },
    partySees: () => secrets[2]!.content,
    parties: 'recipients',
  },
]

/**
 * Routes an agent key may call that return no mail: its own record, marking its own inbox read, and
 * the public ones (health, the object store's root document, a GPT's action spec).
 */
const MAIL_FREE = [
  // Public: they answer anyone the same, and no mail.
  'GET /',
  'GET /.well-known/jwks.json',
  'POST /v1/auth/signup',
  'POST /v1/auth/login',
  'POST /v1/auth/refresh',
  'GET /v1/me',
  'GET /v1/agents/{id}',
  'POST /v1/agents/{id}/inbox/read',
  'GET /health',
  'GET /live',
  'GET /ready',
  'GET /v1/gpts/{gpt_id}/openapi.json',
  // FastWrap's surface: it ignores a Bearer token (its key is X-API-Key, an account's) and holds no mail.
  'POST /auth/signup',
  'PATCH /clients/me',
  'DELETE /clients/me',
  'POST /clients/me/regenerate-key',
  'GET /api/characters',
  'POST /api/characters',
  'GET /api/characters/{uuid}',
  'PATCH /api/characters/{uuid}',
  'DELETE /api/characters/{uuid}',
  'POST /api/chat',
  'POST /api/vectors/upsert',
  'POST /api/vectors/search',
  // The Custom GPT adapter's health, and its refresh (which takes a refresh token, not a key); no mail.
  'GET /api/v1/health',
  'POST /api/v1/auth/refresh',
]
/** Routes that take a mail id: they must refuse an outsider's one exactly like a missing one. */
const TAKES_MAIL = [
  'POST /v1/gpts/{gpt_id}/mail',
  'PUT /v1/mail/{id}/metadata/{key}',
  'PATCH /v1/mail/{id}',
  'POST /v1/mail/{id}/recipients',
  'PATCH /v1/mail-metadata/{id}',
]

beforeAll(async () => {
  t = await createTestApp()
  await t.app.listen({ port: 0, host: '127.0.0.1' })
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
  gptKey = (await createGptWithKey(t.services, GPT)).token
  ;[a1, a2, a3, a4] = [await viewer('a1'), await viewer('a2'), await viewer('a3'), await viewer('a4')]
  shared = (await ok<{ id: string }>('POST', `/v1/gpts/${GPT}/conversations`, gptKey, { title: 'shared' })).id
  hidden = (await ok<{ id: string }>('POST', `/v1/gpts/${GPT}/conversations`, gptKey, { title: 'hidden' })).id
  await send(a1, [a2], 'a1 to a2', shared)
  await send(a2, [a1], 'a2 to a1', shared)
  secrets = [
    await send(a3, [a4], 'secret in the shared conversation', shared),
    await send(a3, [a4], 'secret in its own conversation', hidden),
    await send(a3, [a4], 'secret outside conversations'),
  ]
  secretNote = (await ok<{ id: string }>('PUT', `/v1/mail/${secrets[2]!.id}/metadata/note`, a3.token, { value: 'a secret note' }, 200)).id
})

afterAll(async () => {
  for (const stream of streams) stream.close()
  await t?.close()
})

describe('mail is seen by its parties only', () => {
  it('every route an agent key can reach is walked here or returns no mail', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json<{ paths: Record<string, Record<string, unknown>> }>()
    const reachable: string[] = []
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) {
        // The auth hook refuses before anything else runs, so placeholder ids are enough to ask.
        const url = path.replace('{gpt_id}', GPT).replace(/\{[a-z_]+\}/g, MISSING_ID)
        const response = await injectJson(t.app, method.toUpperCase() as HttpMethod, url, bearer(a1.token), method === 'get' ? undefined : {})
        // 401: a route of the admin token; 403 naming the binding: a route agent keys may not use.
        const refused = response.statusCode === 401 || (response.statusCode === 403 && /bound to an agent/.test(response.json<{ detail: string }>().detail))
        if (!refused) reachable.push(`${method.toUpperCase()} ${path}`)
      }
    }
    const walked = new Set([...routes.map((route) => route.operation), ...MAIL_FREE, ...TAKES_MAIL])
    expect(reachable.sort()).toEqual([...walked].sort())
  })

  for (const [index, route] of routes.entries()) {
    it(`${route.operation} (#${index}): outsiders see none of it, parties see it`, async () => {
      for (const outsider of [a1, a2]) {
        const result = await route.read(outsider)
        if (result.refused) continue
        for (const giveaway of giveaways()) expect(result.text, `${outsider.agent} sees ${giveaway}`).not.toContain(giveaway)
      }
      for (const party of route.parties === 'recipients' ? [a4] : [a3, a4]) {
        const result = await route.read(party)
        expect(result.refused).toBe(false)
        expect(result.refused ? '' : result.text).toContain(route.partySees())
      }
    })
  }

  it("refuses an outsider's reply to, or note on, a secret mail exactly as for a missing one", async () => {
    const url = `/v1/gpts/${GPT}/mail`
    const answers = []
    for (const parent of [secrets[0]!.id, MISSING_ID]) {
      const response = await injectJson(t.app, 'POST', url, bearer(a1.token), { from: a1.agent, to: [a2.agent], content: 'reply', parent_id: parent })
      answers.push(expectProblem(response, 422, url, 'validation-failed').errors)
    }
    expect(answers[0]).toEqual(answers[1])
    expect(answers[0]).toEqual([{ pointer: '/parent_id', message: 'is not a mail this agent sent or received' }])
    const note = `/v1/mail/${secrets[0]!.id}/metadata/tag`
    expectProblem(await injectJson(t.app, 'PUT', note, bearer(a1.token), { value: 'x' }), 403, note, 'forbidden')
    // The parties may.
    const reply = await ok<{ parent_id: string }>('POST', url, a4.token, { from: a4.agent, to: [a3.agent], content: 'answer', parent_id: secrets[0]!.id })
    expect(reply.parent_id).toBe(secrets[0]!.id)
    await ok('PUT', note, a3.token, { value: 'by the sender' })
    expect((await ok<{ metadata_entries: unknown[] }>('GET', `/v1/mail/${secrets[0]!.id}`, gptKey)).metadata_entries).toEqual([
      expect.objectContaining({ key: 'tag', value: 'by the sender', set_by: a3.agent }),
    ])
  })

  it('refuses an outsider the edit of a secret mail, new recipients and its notes; a recipient may not edit it, the sender may', async () => {
    const mail = `/v1/mail/${secrets[2]!.id}`
    const note = `/v1/mail-metadata/${secretNote}`
    for (const [method, url, body] of [
      ['PATCH', mail, { content: 'changed' }],
      ['POST', `${mail}/recipients`, { to: [a1.agent] }],
      ['PATCH', note, { value: 'changed' }],
    ] as const) {
      expectProblem(await injectJson(t.app, method, url, bearer(a1.token), body), 403, url, 'forbidden')
    }
    const byRecipient = expectProblem(await injectJson(t.app, 'PATCH', mail, bearer(a4.token), { content: 'changed' }), 403, mail, 'forbidden')
    expect(byRecipient.detail).toMatch(/only the sender/i)
    expect((await ok<{ content: string; edited_at: string | null }>('PATCH', mail, a3.token, { importance: 9 })).edited_at).not.toBeNull()
    expect((await ok<{ value: string }>('GET', note, gptKey)).value).toBe('a secret note')
  })

  it('the conversation details of an outsider count only its own mail; a GPT key gets all of it', async () => {
    const details = await ok<{ messages: { content: string }[]; agents: AgentView[]; total_messages: number }>('GET', `/v1/conversations/${shared}/details`, a1.token)
    expect(details.messages.map((mail) => mail.content)).toEqual(['a1 to a2', 'a2 to a1'])
    expect(details.agents.map((agent) => agent.id).sort()).toEqual([a1.agent, a2.agent].sort())
    expect(details.total_messages).toBe(2)
    const all = await ok<{ messages: unknown[]; agents: unknown[]; total_messages: number }>('GET', `/v1/conversations/${shared}/details`, gptKey)
    expect(all.total_messages).toBe(3)
    expect(all.messages).toHaveLength(3)
    expect(all.agents).toHaveLength(4)
  })
})
