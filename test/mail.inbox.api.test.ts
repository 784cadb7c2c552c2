import { beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { type AgentView, type MetadataEntry, type MailView, type InboxItem, type InboxList, type ConversationView, ISO, MISSING_ID, alice, bob, call, ok, agent, agentKey, send, conversation, inbox, pointers, pause, useMailApi } from './helpers/mail-api.js'

useMailApi()

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
