import { sql, type Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MessagesRepository } from '../src/modules/chat/messages.repo.js'
import { MailRepository } from '../src/modules/mail/mail.repo.js'
import { ObjectsRepository } from '../src/modules/objects/objects.repo.js'
import type { Tables } from '../src/platform/db/tables.js'
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js'

let test: TestDatabase

beforeAll(async () => {
  test = await createTestDatabase()
  const db = test.database.db
  await sql`insert into gpts (id, name) values ('plan', 'Plan')`.execute(db)
  await sql`insert into collections (gpt_id, name) values ('plan', 'big'), ('plan', 'small')`.execute(db)
  // A collection large enough that reading a tenth of it costs far more than a page.
  await sql`insert into objects (gpt_id, id, collection, body, created_at)
    select 'plan', gen_random_uuid(), case when n % 10 = 0 then 'small' else 'big' end, jsonb_build_object('n', n),
      now() - make_interval(secs => n)
    from generate_series(1, 5000) as n`.execute(db)
  await new ObjectsRepository(db).analyzeObjects()
  await sql`insert into chat_sessions (gpt_id, id, user_id) select 'plan', ${uuidSql('n')}, 'u' from generate_series(1, 200) as n`.execute(db)
  await sql`insert into chat_messages (gpt_id, session_id, id, sender, content)
    select 'plan', ${uuidSql('n % 200 + 1')}, gen_random_uuid(), 'user', 'hello ' || n from generate_series(1, 10000) as n`.execute(db)
  await sql`analyze chat_messages`.execute(db)
  // 50 agents; each mail from agent 1 to one of them.
  await sql`insert into agents (gpt_id, id, name) select 'plan', ${uuidSql('n')}, 'agent ' || n from generate_series(1, 50) as n`.execute(db)
  await sql`insert into mail (gpt_id, id, sender_id, content, created_at)
    select 'plan', ${uuidSql('n + 1000')}, ${uuidSql('1')}, 'mail ' || n, now() - make_interval(secs => n) from generate_series(1, 5000) as n`.execute(db)
  await sql`insert into mail_recipients (gpt_id, mail_id, agent_id, created_at, read_at)
    select 'plan', ${uuidSql('n + 1000')}, ${uuidSql('n % 50 + 1')}, now() - make_interval(secs => n), case when n % 3 = 0 then now() end
    from generate_series(1, 5000) as n`.execute(db)
  await sql`analyze mail; analyze mail_recipients`.execute(db)
})

afterAll(() => test.drop())

/** The uuid numbered by the SQL expression `n` (sessions, agents, mails); and by a number, as its text. */
const uuidSql = (n: string) => sql.raw(`('00000000-0000-7000-8000-' || lpad((${n})::text, 12, '0'))::uuid`)
const uuidOf = (n: number) => `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`

/**
 * How often PostgreSQL planned, generic and custom, the one prepared statement of this connection whose
 * text matches every `like` pattern and none of the `unlike` ones.
 */
async function plansOf(trx: Kysely<Tables>, like: string[], unlike: string[] = []): Promise<{ generic: number; custom: number }> {
  const { rows } = await sql<{ generic: number; custom: number }>`
    select generic_plans::int as generic, custom_plans::int as custom from pg_prepared_statements
    where statement like all (${like}::text[]) and not (statement like any (${unlike}::text[]))`.execute(trx)
  expect(rows).toHaveLength(1)
  return rows[0]!
}

describe('a page of documents', () => {
  const filters = { where: null, q: null, createdAfter: null, createdBefore: null }
  const seek = { by: 'created_at', order: 'desc', limit: 50, after: null } as const
  it.each([
    ['as rows', (repo: ObjectsRepository, collection: string) => repo.listObjects('plan', collection, filters, seek).then((rows) => rows.length), ['%"gpt_id", "id", "collection", "body"%'], ['%string_agg%']],
    ['as one text (the API)', (repo: ObjectsRepository, collection: string) => repo.listObjectsText('plan', collection, filters, seek).then((page) => page.found), ['%string_agg%'], []],
  ])('%s runs on one generic plan of its prepared statement, whatever the collection, instead of being planned again for each page', async (_, read, like, unlike) => {
    await test.database.db.transaction().execute(async (trx) => {
      const repo = new ObjectsRepository(trx)
      const pages: number[] = []
      for (let run = 0; run < 12; run++) pages.push(await read(repo, run % 2 ? 'big' : 'small'))
      expect(pages).toEqual(Array(12).fill(51))
      const plans = await plansOf(trx, [...like, '%order by%'], unlike)
      // PostgreSQL tries custom plans for the first five runs, then keeps the generic one when it costs no more.
      expect(plans.custom).toBeLessThanOrEqual(5)
      expect(plans.generic).toBeGreaterThanOrEqual(7)
    })
  })
})

describe('a page of chat messages', () => {
  it('runs on one generic plan of its prepared statement, whatever the session, order and page size', async () => {
    await test.database.db.transaction().execute(async (trx) => {
      const repo = new MessagesRepository(trx)
      const pages: number[] = []
      for (let run = 0; run < 12; run++) {
        const rows = await repo.listMessages('plan', uuidOf(run + 1), { limit: 20, order: run % 2 ? 'asc' : 'desc', after: null, offset: 0 })
        pages.push(rows.length)
      }
      expect(pages).toEqual(Array(12).fill(21))
      // One statement per order; each keeps its generic plan once PostgreSQL has tried five custom ones.
      for (const order of ['asc', 'desc']) {
        const plans = await plansOf(trx, ['%from "chat_messages"%', `%order by "created_at" ${order}, "id" ${order}%`])
        expect(plans.custom).toBeLessThanOrEqual(5)
        expect(plans.generic).toBeGreaterThanOrEqual(1)
      }
    })
  })
})

describe('an inbox page', () => {
  it('runs on one generic plan of its prepared statement, read or unread, whatever the agent', async () => {
    await test.database.db.transaction().execute(async (trx) => {
      const repo = new MailRepository(trx)
      for (const unread of [false, true]) {
        const pages: number[] = []
        for (let run = 0; run < 12; run++) {
          const filters = { unread, includeSent: false, conversationId: null, minImportance: null }
          pages.push((await repo.inbox('plan', uuidOf(run + 2), filters, { order: 'desc', limit: 20, after: null })).length)
        }
        expect(pages).toEqual(Array(12).fill(21))
        const inbox = '%from "mail_recipients" as "r"%'
        const unreadOnly = '%"read_at" is null%'
        const plans = await plansOf(trx, unread ? [inbox, unreadOnly] : [inbox], unread ? [] : [unreadOnly])
        expect(plans.custom).toBeLessThanOrEqual(5)
        expect(plans.generic).toBeGreaterThanOrEqual(7)
      }
    })
  })

  it("reads a page's recipients and metadata with one prepared statement each, whatever the page's size", async () => {
    await test.database.db.transaction().execute(async (trx) => {
      const repo = new MailRepository(trx)
      for (const size of [1, 3, 20, 50]) {
        const ids = Array.from({ length: size }, (_, n) => uuidOf(n + 1001))
        expect(await repo.recipientsOf('plan', ids)).toHaveLength(size)
        expect(await repo.metadataOf('plan', ids)).toEqual([])
      }
      for (const table of ['mail_recipients', 'mail_metadata']) {
        await plansOf(trx, [`%from "${table}" where%`])
      }
    })
  })
})
