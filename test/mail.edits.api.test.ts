import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { openSseStream } from './helpers/sse.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type HttpMethod, type TestApp } from './helpers/test-app.js'

/**
 * Mail after it is sent: recipients added later (POST /v1/mail/{id}/recipients), edits by the sender
 * (PATCH /v1/mail/{id}), and metadata entries by id (GET/PATCH /v1/mail-metadata/{id}).
 */

interface AgentView {
  id: string
}
interface MailView {
  id: string
  from: string
  to: { agent_id: string; read_at: string | null }[]
  content: string
  importance: number
  type: string
  edited_at: string | null
  metadata_entries: { id: string; key: string; value: unknown }[]
}
interface Entry {
  id: string
  mail_id: string
  key: string
  value: unknown
  set_by: string | null
}

const GPT = 'edits-gpt'
const OTHER = 'edits-other'
const MISSING_ID = '0190a1b2-0000-7000-8000-000000000000'
const MAX_RECIPIENTS = 3

let t: TestApp
let gptKey: string
let otherKey: string
let alice: AgentView
let bob: AgentView
let carol: AgentView
let aliceKey: string
let bobKey: string

async function ok<T>(method: HttpMethod, url: string, body?: unknown, token = gptKey, status = method === 'POST' && !url.endsWith('/recipients') ? 201 : 200): Promise<T> {
  const response = await injectJson(t.app, method, url, bearer(token), body)
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(status)
  return response.json<T>()
}

const agent = (name: string) => ok<AgentView>('POST', `/v1/gpts/${GPT}/agents`, { name })
const send = (to: AgentView[], content = 'hello') => ok<MailView>('POST', `/v1/gpts/${GPT}/mail`, { from: alice.id, to: to.map((a) => a.id), content })
const inboxContents = async (id: string) => (await ok<{ mail: MailView[] }>('GET', `/v1/agents/${id}/inbox?limit=200`)).mail.map((mail) => mail.content)

beforeAll(async () => {
  t = await createTestApp({ env: { MAX_RECIPIENTS: String(MAX_RECIPIENTS), MAX_MAIL_CHARS: '100' } })
  gptKey = (await createGptWithKey(t.services, GPT)).token
  otherKey = (await createGptWithKey(t.services, OTHER)).token
  ;[alice, bob, carol] = [await agent('alice'), await agent('bob'), await agent('carol')]
  aliceKey = (await t.services.keys.createKey(GPT, { agent_id: alice.id, scopes: ['read', 'write'] })).key
  bobKey = (await t.services.keys.createKey(GPT, { agent_id: bob.id, scopes: ['read', 'write'] })).key
})

afterAll(async () => t?.close())

describe('recipients added later', () => {
  it('a mail may be sent to nobody, then reaches each added recipient\'s inbox at that moment', async () => {
    const mail = await send([], 'draft for later')
    expect(mail.to).toEqual([])
    expect(await inboxContents(bob.id)).not.toContain('draft for later')
    const added = await ok<MailView>('POST', `/v1/mail/${mail.id}/recipients`, { to: [bob.id] }, aliceKey)
    expect(added.to).toEqual([{ agent_id: bob.id, read_at: null }])
    expect(await inboxContents(bob.id)).toContain('draft for later')
    const more = await ok<MailView>('POST', `/v1/mail/${mail.id}/recipients`, { to: [carol.id] })
    expect(more.to.map((to) => to.agent_id).sort()).toEqual([bob.id, carol.id].sort())
    // Bob, a recipient now, reads it.
    expect((await ok<MailView>('GET', `/v1/mail/${mail.id}`, undefined, bobKey)).content).toBe('draft for later')
  })

  it('reaches an added recipient\'s open inbox stream at once, and a replay from before it shows it', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
    const mail = await send([bob], 'late for carol')
    const stream = await openSseStream(`${base}/v1/agents/${carol.id}/inbox/stream`, bearer(gptKey))
    try {
      expect(stream.status).toBe(200)
      await ok('POST', `/v1/mail/${mail.id}/recipients`, { to: [carol.id] })
      await stream.waitFor('the late mail', (s) => s.mail().some((item) => item.content === 'late for carol'), 5000)
    } finally {
      stream.close()
    }
    const eventId = stream.events.find((event) => event.event === 'mail' && event.data.includes('late for carol'))!.id!
    const later = await send([carol], 'after the late one')
    const replay = await openSseStream(`${base}/v1/agents/${carol.id}/inbox/stream`, { ...bearer(gptKey), 'last-event-id': eventId })
    try {
      await replay.waitFor('the mail after it', (s) => s.mail().some((item) => item.id === later.id), 5000)
      expect(replay.mail().map((item) => item.content)).not.toContain('late for carol')
    } finally {
      replay.close()
    }
  })

  const failures: { name: string; url: () => string; body: () => unknown; token?: () => string; status: number; type: string }[] = [
    { name: 'an existing recipient', url: () => `/v1/mail/${sent.id}/recipients`, body: () => ({ to: [carol.id, bob.id] }), status: 409, type: 'conflict' },
    { name: 'an agent of no GPT', url: () => `/v1/mail/${sent.id}/recipients`, body: () => ({ to: [MISSING_ID] }), status: 422, type: 'validation-failed' },
    { name: 'an empty list', url: () => `/v1/mail/${sent.id}/recipients`, body: () => ({ to: [] }), status: 422, type: 'validation-failed' },
    { name: 'a repeated agent', url: () => `/v1/mail/${sent.id}/recipients`, body: () => ({ to: [carol.id, carol.id] }), status: 422, type: 'validation-failed' },
    { name: 'too many', url: () => `/v1/mail/${sent.id}/recipients`, body: () => ({ to: [MISSING_ID, carol.id, alice.id, bob.id] }), status: 422, type: 'validation-failed' },
    { name: 'a missing mail', url: () => `/v1/mail/${MISSING_ID}/recipients`, body: () => ({ to: [carol.id] }), status: 404, type: 'not-found' },
    { name: 'another GPT\'s key', url: () => `/v1/mail/${sent.id}/recipients`, body: () => ({ to: [carol.id] }), token: () => otherKey, status: 404, type: 'not-found' },
    { name: 'a recipient\'s key', url: () => `/v1/mail/${sent.id}/recipients`, body: () => ({ to: [carol.id] }), token: () => bobKey, status: 403, type: 'forbidden' },
    { name: 'a malformed id', url: () => '/v1/mail/nope/recipients', body: () => ({ to: [carol.id] }), status: 422, type: 'validation-failed' },
  ]
  let sent: MailView
  beforeAll(async () => {
    sent = await send([bob], 'to bob')
  })
  it.each(failures)('refuses $name with $status', async ({ url, body, token, status, type }) => {
    expectProblem(await injectJson(t.app, 'POST', url(), bearer(token ? token() : gptKey), body()), status, url(), type)
    expect((await ok<MailView>('GET', `/v1/mail/${sent.id}`)).to.map((to) => to.agent_id)).toEqual([bob.id])
  })
})

describe('edits by the sender', () => {
  it('changes the fields given, sets edited_at, and recipients see the edit', async () => {
    const mail = await send([bob], 'first text')
    expect(mail.edited_at).toBeNull()
    const edited = await ok<MailView>('PATCH', `/v1/mail/${mail.id}`, { content: 'second text', importance: 9 }, aliceKey)
    expect(edited).toMatchObject({ content: 'second text', importance: 9, type: 'text' })
    expect(edited.edited_at).toMatch(/Z$/)
    expect((await ok<MailView>('GET', `/v1/mail/${mail.id}`, undefined, bobKey)).content).toBe('second text')
    expect(await inboxContents(bob.id)).toContain('second text')
  })

  const bad: { name: string; body: unknown; token?: () => string; status: number; type: string }[] = [
    { name: 'an empty body', body: {}, status: 422, type: 'validation-failed' },
    { name: 'empty content', body: { content: '' }, status: 422, type: 'validation-failed' },
    { name: 'content over MAX_MAIL_CHARS', body: { content: 'x'.repeat(101) }, status: 422, type: 'validation-failed' },
    { name: 'importance 11', body: { importance: 11 }, status: 422, type: 'validation-failed' },
    { name: 'an unknown member', body: { from: MISSING_ID }, status: 422, type: 'validation-failed' },
    { name: 'a recipient\'s key', body: { content: 'mine now' }, token: () => bobKey, status: 403, type: 'forbidden' },
    { name: 'another GPT\'s key', body: { content: 'mine now' }, token: () => otherKey, status: 404, type: 'not-found' },
  ]
  it.each(bad)('refuses $name with $status and leaves the mail as it was', async ({ body, token, status, type }) => {
    const mail = await send([bob], 'unchanged')
    const url = `/v1/mail/${mail.id}`
    expectProblem(await injectJson(t.app, 'PATCH', url, bearer(token ? token() : gptKey), body), status, url, type)
    expect(await ok<MailView>('GET', url)).toMatchObject({ content: 'unchanged', edited_at: null })
  })

  it('answers 404 for a missing mail', async () => {
    expectProblem(await injectJson(t.app, 'PATCH', `/v1/mail/${MISSING_ID}`, bearer(gptKey), { content: 'x' }), 404, `/v1/mail/${MISSING_ID}`, 'not-found')
  })
})

describe('metadata entries by id', () => {
  it('reads and changes an entry by its id, for the parties', async () => {
    const mail = await send([bob])
    const entry = await ok<Entry>('PUT', `/v1/mail/${mail.id}/metadata/status`, { value: 'pending' }, aliceKey)
    expect(await ok<Entry>('GET', `/v1/mail-metadata/${entry.id}`, undefined, bobKey)).toMatchObject({ id: entry.id, mail_id: mail.id, key: 'status', value: 'pending' })
    const changed = await ok<Entry>('PATCH', `/v1/mail-metadata/${entry.id}`, { value: 'done' }, bobKey)
    expect(changed).toMatchObject({ id: entry.id, key: 'status', value: 'done', set_by: bob.id })
    const renamed = await ok<Entry>('PATCH', `/v1/mail-metadata/${entry.id}`, { key: 'state' })
    expect(renamed).toMatchObject({ key: 'state', value: 'done', set_by: null })
    expect((await ok<MailView>('GET', `/v1/mail/${mail.id}`)).metadata_entries).toEqual([expect.objectContaining({ id: entry.id, key: 'state', value: 'done' })])
  })

  it('refuses a key another entry of the mail has, an empty change, a bad key, and ids it does not know', async () => {
    const mail = await send([bob])
    const first = await ok<Entry>('PUT', `/v1/mail/${mail.id}/metadata/a`, { value: 1 })
    await ok<Entry>('PUT', `/v1/mail/${mail.id}/metadata/b`, { value: 2 })
    const url = `/v1/mail-metadata/${first.id}`
    expectProblem(await injectJson(t.app, 'PATCH', url, bearer(gptKey), { key: 'b' }), 409, url, 'conflict')
    expectProblem(await injectJson(t.app, 'PATCH', url, bearer(gptKey), {}), 422, url, 'validation-failed')
    expectProblem(await injectJson(t.app, 'PATCH', url, bearer(gptKey), { key: 'with space' }), 422, url, 'validation-failed')
    expectProblem(await injectJson(t.app, 'GET', url, bearer(otherKey)), 404, url, 'not-found')
    const missing = `/v1/mail-metadata/${MISSING_ID}`
    expectProblem(await injectJson(t.app, 'GET', missing, bearer(gptKey)), 404, missing, 'not-found')
    expectProblem(await injectJson(t.app, 'PATCH', missing, bearer(gptKey), { value: 3 }), 404, missing, 'not-found')
    expectProblem(await injectJson(t.app, 'GET', '/v1/mail-metadata/nope', bearer(gptKey)), 422, '/v1/mail-metadata/nope', 'validation-failed')
    expect((await ok<Entry>('GET', url)).key).toBe('a')
  })
})
