// The agent-messaging demo's reads: an agent's received and unread messages, a message's metadata
// with access control, read marks, conversations and their details, on the house mail and conversations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { agentMailClient, expectDetail, expectInvalid } from './helpers/agentmail.js'
import { createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

const GPT = 'demo-reads'
const MISSING = '01900000-0000-7000-8000-000000000000'

let t: TestApp
let key: string
let otherKey: string
const { call, ok, agent, message, deliver } = agentMailClient(() => t, () => key)

interface Received {
  id: string
  content: string
  sender_id: string
  is_read: boolean
  read_at: string | null
  sent_at: string
}

/** Two agents, each with one message from the other: a1's read, a2's not; a metadata row on a2's. */
async function pair() {
  const [a1, a2] = [await agent(), await agent()]
  const m1 = await message(a1.id, { content: 'Hello from agent 1', message_type: 'greeting' })
  const m2 = await message(a2.id, { content: 'Reply from agent 2', message_type: 'reply' })
  await deliver(m1.id, a2.id)
  await deliver(m2.id, a1.id, true)
  await ok('POST', '/agent_message_metadata', { message_id: m1.id, key: 'priority', value: 'high' })
  return { a1, a2, m1, m2 }
}

beforeAll(async () => {
  t = await createTestApp()
  key = (await createGptWithKey(t.services, GPT)).token
  otherKey = (await createGptWithKey(t.services, 'demo-reads-other')).token
})

afterAll(async () => {
  await t?.close()
})

describe('agent messaging: pulling messages', () => {
  it('lists the messages an agent received (not those it sent), newest first, with its read state', async () => {
    const { a1, a2 } = await pair()
    const [received] = await ok<Received[]>('GET', `/agents/${a1.id}/messages`)
    expect(received).toMatchObject({ content: 'Reply from agent 2', sender_id: a2.id, is_read: true })
    const forA2 = await ok<Received[]>('GET', `/agents/${a2.id}/messages`)
    expect(forA2.map((m) => [m.content, m.is_read, m.read_at])).toEqual([['Hello from agent 1', false, null]])
    const another = await message(a1.id, { content: 'later' })
    await deliver(another.id, a2.id)
    expect((await ok<Received[]>('GET', `/agents/${a2.id}/messages`)).map((m) => m.content)).toEqual(['later', 'Hello from agent 1'])
  })

  it('lists by the time a message was written, also when an older one was delivered later', async () => {
    const [sender, reader] = [await agent(), await agent()]
    const older = await message(sender.id, { content: 'written first' })
    const newer = await message(sender.id, { content: 'written second' })
    await deliver(newer.id, reader.id)
    await deliver(older.id, reader.id)
    const listed = await ok<Received[]>('GET', `/agents/${reader.id}/messages`)
    expect(listed.map((m) => m.content)).toEqual(['written second', 'written first'])
    expect(listed[0]!.sent_at >= listed[1]!.sent_at).toBe(true)
  })

  it('lists unread messages only, and an agent with none gets []', async () => {
    const { a1, a2 } = await pair()
    expect((await ok<Received[]>('GET', `/agents/${a2.id}/messages/unread`)).map((m) => m.content)).toEqual(['Hello from agent 1'])
    expect(await ok('GET', `/agents/${a1.id}/messages/unread`)).toEqual([])
    const lonely = await agent()
    expect(await ok('GET', `/agents/${lonely.id}/messages`)).toEqual([])
  })

  it('marks received messages read up to a time, a zone-less time read as UTC', async () => {
    const { a1, a2 } = await pair()
    const before = await ok('PUT', `/agents/${a2.id}/messages/mark-read`, { read_up_to_date: '2000-01-01T00:00:00' })
    expect(before).toEqual({ updated_count: 0, message: `Marked 0 messages as read for agent ${a2.id}` })
    const now = new Date(Date.now() + 60_000).toISOString().replace('Z', '')
    expect(await ok('PUT', `/agents/${a2.id}/messages/mark-read`, { read_up_to_date: now })).toMatchObject({ updated_count: 1 })
    expect(await ok('GET', `/agents/${a2.id}/messages/unread`)).toEqual([])
    expect(await ok('PUT', `/agents/${a1.id}/messages/mark-read`, { read_up_to_date: '2100-01-01T00:00:00+02:00' })).toMatchObject({ updated_count: 0 })
  })

  it('refuses bad read marks with 422 and unknown agents with 404 Agent not found', async () => {
    const { a2 } = await pair()
    for (const body of [{}, { read_up_to_date: 'yesterday' }, { read_up_to_date: '2024-13-45T99:00:00' }, { read_up_to_date: 5 }]) {
      expectInvalid(await call('PUT', `/agents/${a2.id}/messages/mark-read`, body))
    }
    for (const url of [`/agents/${MISSING}/messages`, `/agents/${MISSING}/messages/unread`]) expectDetail(await call('GET', url), 404, 'Agent not found')
    expectDetail(await call('PUT', `/agents/${MISSING}/messages/mark-read`, { read_up_to_date: '2024-01-01T00:00:00Z' }), 404, 'Agent not found')
    expectDetail(await call('GET', `/agents/${a2.id}/messages`, undefined, otherKey), 404, 'Agent not found')
    expectInvalid(await call('GET', '/agents/nope/messages'))
  })

  it("gives a message's metadata to its sender and recipients, 403 to other agents", async () => {
    const { a1, a2, m1 } = await pair()
    const seen = await ok<{ metadata_items: { key: string; value: string; id: string }[] }>('GET', `/messages/${m1.id}/metadata/${a1.id}`)
    expect(seen).toMatchObject({ message_id: m1.id, message: { content: 'Hello from agent 1' }, agent: { id: a1.id } })
    expect(seen.metadata_items).toEqual([{ id: expect.any(String), message_id: m1.id, key: 'priority', value: 'high', created_at: expect.any(String) }])
    expect((await ok('GET', `/messages/${m1.id}/metadata/${a2.id}`))).toMatchObject({ agent: { id: a2.id } })
    const stranger = await agent()
    expectDetail(await call('GET', `/messages/${m1.id}/metadata/${stranger.id}`), 403, 'Agent does not have access to this message')
    expectDetail(await call('GET', `/messages/${MISSING}/metadata/${a1.id}`), 404, 'Message not found')
    expectDetail(await call('GET', `/messages/${m1.id}/metadata/${MISSING}`), 404, 'Agent not found')
    expectDetail(await call('GET', `/messages/${m1.id}/metadata/${a1.id}`, undefined, otherKey), 404, 'Agent not found')
  })
})

describe('agent messaging: conversations', () => {
  it('creates, reads, updates (the fields given) and lists conversations, newest first', async () => {
    const created = await ok<{ id: string }>('POST', '/conversations', { title: 'Project', description: 'd', archived: false, metadata: { team: 'qa' } })
    expect(created).toEqual({ id: expect.any(String), title: 'Project', description: 'd', archived: false, metadata: { team: 'qa' }, created_at: expect.any(String) })
    expect(await ok('GET', `/conversations/${created.id}`)).toEqual(created)
    const updated = await ok('PUT', `/conversations/${created.id}`, { title: 'Renamed', archived: true, metadata: { status: 'done' } })
    expect(updated).toMatchObject({ title: 'Renamed', description: 'd', archived: true, metadata: { status: 'done' } })
    expect(await ok('PUT', `/conversations/${created.id}`, {})).toMatchObject({ title: 'Renamed' })
    const newer = await ok<{ id: string }>('POST', '/conversations', { title: 'Newer' })
    const listed = await ok<{ id: string }[]>('GET', '/conversations')
    expect(listed.map((c) => c.id).slice(0, 2)).toEqual([newer.id, created.id])
  })

  it('details a conversation: its messages, the agents in it and the unread count', async () => {
    const conversation = await ok<{ id: string }>('POST', '/conversations', { title: 'Talk' })
    const [a1, a2] = [await agent('talker-1'), await agent('talker-2')]
    const first = await message(a1.id, { content: 'first', conversation_id: conversation.id })
    const second = await message(a2.id, { content: 'second', conversation_id: conversation.id, parent_message_id: first.id })
    await deliver(first.id, a2.id)
    await deliver(second.id, a1.id, true)
    const details = await ok<{ messages: { content: string; parent_message_id: string | null }[]; unique_agents: { agent_name: string }[] }>('GET', `/conversations/${conversation.id}/details`)
    expect(details).toMatchObject({ id: conversation.id, title: 'Talk', total_messages: 2, unread_count: 1 })
    expect(details.messages.map((m) => [m.content, m.parent_message_id])).toEqual([['first', null], ['second', first.id]])
    expect(details.unique_agents.map((a) => a.agent_name).sort()).toEqual(['talker-1', 'talker-2'])
    const empty = await ok<{ id: string }>('POST', '/conversations', { title: 'Empty' })
    expect(await ok('GET', `/conversations/${empty.id}/details`)).toMatchObject({ total_messages: 0, unread_count: 0, messages: [], unique_agents: [] })
  })

  it('answers 404 Conversation not found and 422 for bad input', async () => {
    for (const [method, url, body] of [
      ['GET', `/conversations/${MISSING}`, undefined],
      ['PUT', `/conversations/${MISSING}`, { title: 'x' }],
      ['GET', `/conversations/${MISSING}/details`, undefined],
    ] as const) {
      expectDetail(await call(method, url, body), 404, 'Conversation not found')
    }
    const mine = await ok<{ id: string }>('POST', '/conversations', { title: 'Mine' })
    expectDetail(await call('GET', `/conversations/${mine.id}`, undefined, otherKey), 404, 'Conversation not found')
    expectInvalid(await call('POST', '/conversations', { description: 'no title' }))
    expectInvalid(await call('POST', '/conversations', { title: 'x', metadata: [1] }))
    expectInvalid(await call('PUT', `/conversations/${mine.id}`, { archived: 'yes' }))
    expectInvalid(await call('GET', '/conversations/nope'))
  })
})
