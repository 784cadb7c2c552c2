import { beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { createGptWithKey } from './helpers/test-app.js'
import { type AgentView, type MailView, type ConversationView, type ConversationList, type Details, GPT, CONVERSATIONS, UUID_V7, ISO, MISSING_ID, t, alice, bob, call, ok, agent, agentKey, send, conversation, inbox, pointers, pause, useMailApi } from './helpers/mail-api.js'

useMailApi()

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
