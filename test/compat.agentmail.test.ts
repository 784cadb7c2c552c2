// The agent-messaging demo's own API (agents, messages, recipients, metadata, users, /cli/echo), as
// its README and sources describe it, on the house services: every write endpoint, success and failure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seed } from '../src/cli/seed.js'
import { agentMailClient, expectDetail, expectInvalid } from './helpers/agentmail.js'
import { createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

const GPT = 'demo-gpt'
const MISSING = '01900000-0000-7000-8000-000000000000'
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

let t: TestApp
let key: string
let otherKey: string
const { call, ok, agent, message, deliver } = agentMailClient(() => t, () => key)

beforeAll(async () => {
  t = await createTestApp()
  key = (await createGptWithKey(t.services, GPT)).token
  otherKey = (await createGptWithKey(t.services, 'demo-other')).token
})

afterAll(async () => {
  await t?.close()
})

describe('agent messaging: auth and the shared paths', () => {
  it('needs a GPT key, answered the FastAPI way', async () => {
    expectDetail(await call('POST', '/agents', { agent_name: 'x' }, null), 403, 'Not authenticated')
    expectDetail(await call('POST', '/agents', { agent_name: 'x' }, 'nope'), 401, 'Invalid API key')
  })

  it('GET / carries its welcome message beside the house fields; /health answers 200', async () => {
    expect((await t.app.inject({ url: '/' })).json()).toMatchObject({ message: 'FastAPI PostgreSQL Demo API', name: 'agentstore' })
    expect((await t.app.inject({ url: '/health' })).statusCode).toBe(200)
  })
})

describe('agent messaging: agents', () => {
  it('creates an agent (201) and names may repeat, as they could there', async () => {
    const first = await ok('POST', '/agents', { agent_name: 'twin', ip_address: '192.168.1.100', port: 8080 })
    expect(first).toEqual({ id: expect.any(String), agent_name: 'twin', ip_address: '192.168.1.100', port: 8080, created_at: expect.stringMatching(ISO) })
    const second = await ok<{ id: string; agent_name: string }>('POST', '/agents', { agent_name: 'twin' })
    expect(second).toMatchObject({ agent_name: 'twin', ip_address: null, port: null })
    expect(second.id).not.toBe(first.id)
    // The house sees the same agent, its demo name kept in its metadata.
    const house = await ok<{ name: string; metadata: Record<string, unknown> }>('GET', `/v1/agents/${second.id}`)
    expect(house.metadata).toEqual({ agent_name: 'twin' })
    expect(house.name).toMatch(/^twin #[0-9a-f]{6}$/)
  })

  it('PUT changes only the fields given', async () => {
    const created = await agent('initial-agent')
    const updated = await ok('PUT', `/agents/${created.id}`, { agent_name: 'updated-agent', port: 9090 })
    expect(updated).toMatchObject({ id: created.id, agent_name: 'updated-agent', port: 9090, ip_address: '192.168.1.10' })
    expect(await ok('PUT', `/agents/${created.id}`, {})).toMatchObject({ agent_name: 'updated-agent', port: 9090 })
  })

  const invalid: { name: string; body: Record<string, unknown>; loc: (string | number)[] }[] = [
    { name: 'port 70000', body: { agent_name: 'a', port: 70000 }, loc: ['body', 'port'] },
    { name: 'port 0', body: { agent_name: 'a', port: 0 }, loc: ['body', 'port'] },
    { name: 'no name', body: { port: 80 }, loc: ['body', 'agent_name'] },
    { name: 'an empty name', body: { agent_name: '' }, loc: ['body', 'agent_name'] },
    { name: 'a name that is a number', body: { agent_name: 5 }, loc: ['body', 'agent_name'] },
    { name: 'an address that is no host', body: { agent_name: 'a', ip_address: 'not an address!' }, loc: ['body', 'ip_address'] },
  ]
  it.each(invalid)('refuses $name with 422', async ({ body, loc }) => {
    expect(expectInvalid(await call('POST', '/agents', body)).map((item) => item.loc)).toContainEqual(loc)
  })

  it('answers 404 Agent not found for an agent of no GPT or of another GPT, 422 for a malformed id', async () => {
    const mine = await agent()
    expectDetail(await call('PUT', `/agents/${MISSING}`, { agent_name: 'x' }), 404, 'Agent not found')
    expectDetail(await call('PUT', `/agents/${mine.id}`, { agent_name: 'x' }, otherKey), 404, 'Agent not found')
    expectInvalid(await call('PUT', '/agents/12', { agent_name: 'x' }))
  })
})

describe('agent messaging: messages', () => {
  it('creates a message from its sender alone, with the demo\'s fields', async () => {
    const sender = await agent()
    const created = await ok('POST', '/messages', { content: 'Hello!', sender_id: sender.id, message_type: 'text', importance: 5, msg_metadata: { a: 1 } })
    expect(created).toEqual({
      id: expect.any(String),
      sender_id: sender.id,
      sent_at: expect.stringMatching(ISO),
      parent_message_id: null,
      conversation_id: null,
      content: 'Hello!',
      message_type: 'text',
      importance: 5,
      status: null,
      msg_metadata: { a: 1 },
      edited_at: null,
    })
  })

  it('threads a reply and edits a message (PUT), which sets edited_at', async () => {
    const sender = await agent()
    const parent = await message(sender.id)
    const reply = await ok('POST', '/messages', { content: 'reply', sender_id: sender.id, parent_message_id: parent.id, conversation_id: null })
    expect(reply).toMatchObject({ parent_message_id: parent.id, conversation_id: null })
    const edited = await ok('PUT', `/messages/${parent.id}`, { content: 'Updated message content', importance: 8 })
    expect(edited).toMatchObject({ id: parent.id, content: 'Updated message content', importance: 8, edited_at: expect.stringMatching(ISO) })
    expect(await ok('PUT', `/messages/${parent.id}`, {})).toMatchObject({ content: 'Updated message content' })
  })

  const refused: { name: string; body: (sender: string) => Record<string, unknown>; status: number }[] = [
    { name: 'a sender of no GPT', body: () => ({ content: 'x', sender_id: MISSING }), status: 409 },
    { name: 'a missing parent', body: (s) => ({ content: 'x', sender_id: s, parent_message_id: MISSING }), status: 409 },
    { name: 'a missing conversation', body: (s) => ({ content: 'x', sender_id: s, conversation_id: MISSING }), status: 409 },
    { name: 'no sender', body: () => ({ content: 'x' }), status: 422 },
    { name: 'no content', body: (s) => ({ sender_id: s }), status: 422 },
    { name: 'empty content', body: (s) => ({ content: '', sender_id: s }), status: 422 },
    { name: 'importance 11', body: (s) => ({ content: 'x', sender_id: s, importance: 11 }), status: 422 },
    { name: 'a sender id that is no uuid', body: () => ({ content: 'x', sender_id: 'bob' }), status: 422 },
    { name: 'metadata that is no object', body: (s) => ({ content: 'x', sender_id: s, msg_metadata: [1] }), status: 422 },
  ]
  it.each(refused)('refuses $name with $status', async ({ body, status }) => {
    const sender = await agent()
    const response = await call('POST', '/messages', body(sender.id))
    if (status === 422) expectInvalid(response)
    else expect(expectDetail(response, status)).toMatch(/Message creation failed/)
  })

  it('answers 404 Message not found for an edit of a missing or foreign message, 422 for bad fields', async () => {
    const sender = await agent()
    const mine = await message(sender.id)
    expectDetail(await call('PUT', `/messages/${MISSING}`, { content: 'x' }), 404, 'Message not found')
    expectDetail(await call('PUT', `/messages/${mine.id}`, { content: 'x' }, otherKey), 404, 'Message not found')
    expectInvalid(await call('PUT', `/messages/${mine.id}`, { importance: -1 }))
    expectInvalid(await call('PUT', `/messages/${mine.id}`, { content: '' }))
  })
})

describe('agent messaging: recipients', () => {
  it('delivers a message to a recipient (201), read or not, and marks it read later (PUT)', async () => {
    const [sender, first, second] = [await agent(), await agent(), await agent()]
    const sent = await message(sender.id)
    expect(await deliver(sent.id, first.id)).toEqual({ message_id: sent.id, recipient_id: first.id, is_read: false, read_at: null })
    expect(await deliver(sent.id, second.id, true)).toMatchObject({ recipient_id: second.id, is_read: true, read_at: expect.stringMatching(ISO) })
    const marked = await ok('PUT', `/message_recipients/${sent.id}/${first.id}`, { is_read: true, read_at: new Date().toISOString() })
    expect(marked).toMatchObject({ message_id: sent.id, recipient_id: first.id, is_read: true, read_at: expect.stringMatching(ISO) })
    // Read stays read; asking again changes nothing.
    expect(await ok('PUT', `/message_recipients/${sent.id}/${first.id}`, { is_read: true })).toEqual(marked)
    expectDetail(await call('PUT', `/message_recipients/${sent.id}/${first.id}`, { is_read: false }), 400, 'A read message cannot be marked unread')
  })

  it('answers 409 for a duplicate or a missing message or agent, 404 for an unknown pair, 422 for bad ids', async () => {
    const [sender, recipient, stranger] = [await agent(), await agent(), await agent()]
    const sent = await message(sender.id)
    await deliver(sent.id, recipient.id)
    for (const body of [
      { message_id: sent.id, recipient_id: recipient.id },
      { message_id: MISSING, recipient_id: recipient.id },
      { message_id: sent.id, recipient_id: MISSING },
    ]) {
      expect(expectDetail(await call('POST', '/message_recipients', body), 409)).toMatch(/already exists|does not exist/)
    }
    expectDetail(await call('PUT', `/message_recipients/${sent.id}/${stranger.id}`, { is_read: true }), 404, 'Message recipient relationship not found')
    expectDetail(await call('PUT', `/message_recipients/${MISSING}/${recipient.id}`, { is_read: true }), 404, 'Message recipient relationship not found')
    expectInvalid(await call('POST', '/message_recipients', { message_id: 'x', recipient_id: recipient.id }))
    expectInvalid(await call('POST', '/message_recipients', { message_id: sent.id }))
    expectInvalid(await call('PUT', `/message_recipients/${sent.id}/${recipient.id}`, { is_read: 'yes' }))
  })
})

describe('agent messaging: metadata', () => {
  it('adds metadata to a message (201, with an id) and changes it by that id', async () => {
    const sent = await message((await agent()).id)
    const created = await ok<{ id: string }>('POST', '/agent_message_metadata', { message_id: sent.id, key: 'status', value: 'pending' })
    expect(created).toEqual({ id: expect.any(String), message_id: sent.id, key: 'status', value: 'pending', created_at: expect.stringMatching(ISO) })
    expect(await ok('PUT', `/agent_message_metadata/${created.id}`, { value: 'completed' })).toMatchObject({ id: created.id, key: 'status', value: 'completed' })
    expect(await ok('PUT', `/agent_message_metadata/${created.id}`, { key: 'state' })).toMatchObject({ key: 'state', value: 'completed' })
    expect(await ok('PUT', `/agent_message_metadata/${created.id}`, {})).toMatchObject({ key: 'state' })
  })

  it('answers 409 for a missing message, 404 for an unknown id, 422 for bad fields', async () => {
    const sent = await message((await agent()).id)
    expect(expectDetail(await call('POST', '/agent_message_metadata', { message_id: MISSING, key: 'k', value: 'v' }), 409)).toMatch(/Metadata creation failed/)
    expectDetail(await call('PUT', `/agent_message_metadata/${MISSING}`, { value: 'v' }), 404, 'Agent message metadata not found')
    expectInvalid(await call('POST', '/agent_message_metadata', { message_id: sent.id, value: 'v' }))
    expectInvalid(await call('POST', '/agent_message_metadata', { message_id: sent.id, key: 'k', value: { not: 'a string' } }))
    expectInvalid(await call('POST', '/agent_message_metadata', { message_id: sent.id, key: 'with space', value: 'v' }))
    expectInvalid(await call('PUT', '/agent_message_metadata/nope', { value: 'v' }))
  })
})

describe('agent messaging: users', () => {
  it('reads the sample users agentstore seed makes; others are 404 User not found', async () => {
    const seeded = await seed(t.services)
    const seedKey = seeded.key
    const user = await call('GET', '/users/1', undefined, seedKey)
    expect(user.statusCode, user.body).toBe(200)
    expect(user.json()).toEqual({ id: 1, name: 'John Doe', email: 'john@example.com', created_at: expect.stringMatching(ISO) })
    expect((await call('GET', '/users/3', undefined, seedKey)).json()).toMatchObject({ id: 3, name: 'Bob Johnson' })
    expectDetail(await call('GET', '/users/999', undefined, seedKey), 404, 'User not found')
    // A GPT without a users collection has no users.
    expectDetail(await call('GET', '/users/1'), 404, 'User not found')
    expectInvalid(await call('GET', '/users/abc', undefined, seedKey))
  })
})

describe('agent messaging: /cli/echo runs no shell', () => {
  const echoes: { name: string; message: string; answer: string }[] = [
    { name: 'plain words', message: 'Hello World', answer: 'Hello World' },
    { name: 'allowed punctuation', message: 'Hello, World! How are you? a-b_c.', answer: 'Hello, World! How are you? a-b_c.' },
    { name: 'digits', message: 'Test 123 456', answer: 'Test 123 456' },
    { name: 'surrounding spaces (trimmed)', message: '  Hello World  ', answer: 'Hello World' },
    { name: 'a newline inside', message: 'line one\nline two', answer: 'line one\nline two' },
    { name: '1000 characters', message: 'A'.repeat(1000), answer: 'A'.repeat(1000) },
  ]
  it.each(echoes)('echoes $name', async ({ message: text, answer }) => {
    expect(await ok('POST', '/cli/echo', { message: text }, 200)).toEqual({ success: true, message: answer, output: answer, error: null })
  })

  const refused = ['Hello; rm -rf /', 'Hello && ls -la', 'Hello | cat /etc/passwd', 'Hello `whoami`', 'Hello $(whoami)', 'Hello & sleep 10', 'Hello > /tmp/x', 'Hello < /etc/passwd', "it's", 'é']
  it.each(refused)('refuses %j with 422 invalid characters', async (text) => {
    const [item] = expectDetail(await call('POST', '/cli/echo', { message: text }), 422) as { msg: string; loc: string[] }[]
    expect(item!.msg).toMatch(/invalid characters/)
    expect(item!.loc).toEqual(['body', 'message'])
  })

  it('refuses a NUL character with 422, as all stored text', async () => {
    const [item] = expectDetail(await call('POST', '/cli/echo', { message: 'nul\u0000byte' }), 422) as { msg: string; loc: string[] }[]
    expect(item!.loc).toEqual(['body', 'message'])
  })

  it('refuses an empty, a missing, a too long (1 MB too) message and a body that is no JSON with 422', async () => {
    expect(JSON.stringify(expectDetail(await call('POST', '/cli/echo', { message: '' }), 422))).toContain('min_length')
    expect(JSON.stringify(expectDetail(await call('POST', '/cli/echo', { message: 'A'.repeat(1001) }), 422))).toContain('max_length')
    expect(JSON.stringify(expectDetail(await call('POST', '/cli/echo', { message: 'A'.repeat(1_000_000) }), 422))).toContain('max_length')
    expect(JSON.stringify(expectDetail(await call('POST', '/cli/echo', {}), 422)).toLowerCase()).toContain('field required')
    const notJson = await t.app.inject({ method: 'POST', url: '/cli/echo', headers: { authorization: `Bearer ${key}` }, payload: 'invalid json' })
    expect(expectInvalid(notJson)[0]!.type).toBe('json_invalid')
  })
})
