import { describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { type MailView, GPT, MAIL, UUID_V7, ISO, MISSING_ID, MISSING_ID_2, MAX_MAIL_CHARS, MAX_RECIPIENTS, alice, bob, carol, foreignAgent, foreignConversation, foreignMail, call, ok, agent, send, conversation, inbox, pointers, useMailApi } from './helpers/mail-api.js'

useMailApi()

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
