import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MessageView } from '../src/modules/chat/messages.schemas.js'
import { startFakeLlmServer, type FakeLlmServer } from './helpers/fake-llm-server.js'
import { callService, migratedPostgresDatabase, startService, withLogs, type ServiceProcess } from './helpers/service-process.js'

/**
 * POST /v1/messages/{id}/cancel on one service process stops the generation another process runs,
 * over the real event bus between them (PostgreSQL LISTEN/NOTIFY, and Redis when REDIS_URL is set).
 */

const SERVER_URL = process.env.TEST_DATABASE_URL
const REDIS_URL = process.env.REDIS_URL
const TOKENS = ['Once', ' upon', ' a', ' time', '.']
const HELD = 'Once upon a'
const adminToken = randomBytes(24).toString('hex')
const processes: ServiceProcess[] = []
let llm: FakeLlmServer


beforeAll(async () => {
  llm = await startFakeLlmServer()
})

afterAll(async () => {
  await Promise.all(processes.map((service) => service.stop()))
  await llm?.close()
})

const transports = [{ name: 'PostgreSQL LISTEN/NOTIFY', redis: false }, ...(REDIS_URL ? [{ name: 'Redis pub/sub', redis: true }] : [])]

describe.skipIf(!SERVER_URL)('cancelling a generation another process runs', () => {
  it.each(transports)('through $name: the running process stops it and keeps its text', async ({ redis }) => {
    const database = await migratedPostgresDatabase(SERVER_URL!, 'agentstore_cancel2p')
    try {
      const env = {
        ADMIN_TOKEN: adminToken,
        DATABASE_URL: database.url,
        LLM_PROVIDER: 'openai',
        LLM_BASE_URL: llm.openaiBaseUrl,
        LLM_API_KEY: 'sk-test',
        // A lease far longer than the test: only the running process's own stop can explain the result.
        GENERATION_LEASE_SECONDS: '300',
        ...(redis ? { REDIS_URL: REDIS_URL!, REDIS_PREFIX: `test:${randomBytes(4).toString('hex')}:` } : {}),
      }
      const [a, b] = await Promise.all([startService('a', env), startService('b', env)])
      processes.push(a, b)
      await withLogs([a, b], async () => {
        const gptId = `cancel2p-${randomBytes(3).toString('hex')}`
        expect((await callService(a.url, 'POST', '/v1/admin/gpts', adminToken, { id: gptId, name: 'cancels' })).status).toBe(201)
        const token = (await callService<{ key: string }>(a.url, 'POST', `/v1/admin/gpts/${gptId}/keys`, adminToken, {})).body.key
        const session = (await callService<{ id: string }>(a.url, 'POST', `/v1/gpts/${gptId}/sessions`, token, { user_id: 'alice' })).body
        await callService(a.url, 'POST', `/v1/sessions/${session.id}/messages`, token, { sender: 'user', content: 'Tell me a story.' })
        llm.script({ tokens: TOKENS, hold: 3 })
        const waiting = callService<MessageView>(a.url, 'POST', `/v1/sessions/${session.id}/generate`, token, {})
        await llm.held()
        let id = ''
        for (let tries = 0; !id; tries++) {
          expect(tries, 'the held text on A').toBeLessThan(500)
          const listed = await callService<{ messages: MessageView[] }>(a.url, 'GET', `/v1/sessions/${session.id}/messages`, token)
          const ai = listed.body.messages.find((message) => message.sender === 'ai' && message.partial_content === HELD)
          if (ai) id = ai.id
          else await new Promise((resolve) => setTimeout(resolve, 20))
        }
        const cancelled = await callService<MessageView>(b.url, 'POST', `/v1/messages/${id}/cancel`, token)
        expect(cancelled.status).toBe(200)
        // A's live text, not only what it last saved: A itself stored the message.
        expect(cancelled.body).toMatchObject({ id, status: 'cancelled', partial_content: HELD })
        const answered = await waiting
        expect(answered.status).toBe(201)
        expect(answered.body).toMatchObject({ id, status: 'cancelled', partial_content: HELD })
        llm.script({ tokens: [' time', '.'] })
        const resumed = await callService<MessageView>(b.url, 'POST', `/v1/sessions/${session.id}/resume`, token, {})
        expect(resumed.body).toMatchObject({ id, status: 'complete', content: `${HELD} time.` })
      })
    } finally {
      await database.drop()
    }
  }, 240_000)
})
