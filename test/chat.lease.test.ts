import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MessageView } from '../src/modules/chat/messages.schemas.js'
import { startFakeLlmServer, type FakeLlmServer } from './helpers/fake-llm-server.js'
import { callService, migratedPostgresDatabase, startService, withLogs, type ServiceProcess } from './helpers/service-process.js'
import { copyMigratedDataDir } from './helpers/test-database.js'

/**
 * A generation whose process crashed (SIGKILL: no shutdown, no final write) does not hold its session
 * for long: an embedded server interrupts it as it restarts, and on PostgreSQL another process may
 * resume it once the lease (GENERATION_LEASE_SECONDS, renewed by a heartbeat) runs out.
 */

const SERVER_URL = process.env.TEST_DATABASE_URL
const TOKENS = ['Once', ' upon', ' a', ' time', '.']
const HELD = 'Once upon a'
/** The lease before GENERATION_LEASE_SECONDS: what "quickly" is measured against. */
const OLD_LEASE_MS = 30_000
const adminToken = randomBytes(24).toString('hex')
const processes: ServiceProcess[] = []
let llm: FakeLlmServer


const llmEnv = () => ({ ADMIN_TOKEN: adminToken, LLM_PROVIDER: 'openai', LLM_BASE_URL: llm.openaiBaseUrl, LLM_API_KEY: 'sk-test', PARTIAL_SAVE_MS: '20' })

async function start(name: string, env: Record<string, string>): Promise<ServiceProcess> {
  const service = await startService(name, env)
  processes.push(service)
  return service
}

function crash(service: ServiceProcess): Promise<void> {
  return new Promise((resolve) => {
    service.child.once('exit', () => resolve())
    service.child.kill('SIGKILL')
  })
}

/** A GPT, a key and a session with a question, on `base`; then a generation held after three tokens, its text so far stored. */
async function heldGeneration(base: string): Promise<{ token: string; sessionId: string; id: string }> {
  const gptId = `lease-${randomBytes(3).toString('hex')}`
  expect((await callService(base, 'POST', '/v1/admin/gpts', adminToken, { id: gptId, name: 'leases' })).status).toBe(201)
  const token = (await callService<{ key: string }>(base, 'POST', `/v1/admin/gpts/${gptId}/keys`, adminToken, {})).body.key
  const session = await callService<{ id: string }>(base, 'POST', `/v1/gpts/${gptId}/sessions`, token, { user_id: 'alice' })
  await callService(base, 'POST', `/v1/sessions/${session.body.id}/messages`, token, { sender: 'user', content: 'Tell me a story.' })
  llm.script({ tokens: TOKENS, hold: 3 })
  // The request dies with its process; only its effect on the database matters here.
  void callService(base, 'POST', `/v1/sessions/${session.body.id}/generate`, token, {}).catch(() => {})
  await llm.held()
  let id = ''
  for (let tries = 0; ; tries++) {
    expect(tries, 'the text so far to be stored').toBeLessThan(500)
    const listed = await callService<{ messages: MessageView[] }>(base, 'GET', `/v1/sessions/${session.body.id}/messages`, token)
    const ai = listed.body.messages.find((message) => message.sender === 'ai')
    if (ai?.status === 'in_progress' && ai.partial_content === HELD) {
      id = ai.id
      break
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  // The process answers with the live text; many PARTIAL_SAVE_MS periods later it is surely stored too.
  await new Promise((resolve) => setTimeout(resolve, 500))
  return { token, sessionId: session.body.id, id }
}

beforeAll(async () => {
  llm = await startFakeLlmServer()
})

afterAll(async () => {
  await Promise.all(processes.map((service) => service.stop()))
  await llm?.close()
})

describe('a generation whose process crashed', () => {
  it('embedded: the restarted server interrupts it at once, keeping its text, and resume continues it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'agentstore-lease-'))
    // Migrated already: what is under test is the restart, not the first start.
    await copyMigratedDataDir(dataDir)
    try {
      const env = { ...llmEnv(), DATA_DIR: dataDir }
      const first = await start('embedded', env)
      const { token, sessionId, id } = await heldGeneration(first.url)
      await crash(first)
      const again = await start('embedded-again', env)
      await withLogs([again], async () => {
        const interrupted = await callService<MessageView>(again.url, 'GET', `/v1/messages/${id}`, token)
        expect(interrupted.body).toMatchObject({ status: 'failed', partial_content: HELD, error_message: expect.stringMatching(/^interrupted/) })
        llm.script({ tokens: [' time', '.'] })
        const resumed = await callService<MessageView>(again.url, 'POST', `/v1/sessions/${sessionId}/resume`, token, {})
        expect(resumed.status).toBe(200)
        expect(resumed.body).toMatchObject({ id, status: 'complete', content: `${HELD} time.` })
      })
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  }, 240_000)

  it.skipIf(!SERVER_URL)('PostgreSQL: another process resumes it once the lease runs out, well before the old 30 s', async () => {
    const database = await migratedPostgresDatabase(SERVER_URL!, 'agentstore_lease')
    try {
      const env = { ...llmEnv(), DATABASE_URL: database.url, GENERATION_LEASE_SECONDS: '3' }
      const [a, b] = await Promise.all([start('a', env), start('b', env)])
      await withLogs([a, b], async () => {
        const { token, sessionId, id } = await heldGeneration(a.url)
        const crashedAt = Date.now()
        await crash(a)
        llm.setDefault({ tokens: [' time', '.'] })
        const refusals: number[] = []
        let resumed: { status: number; body: MessageView } | null = null
        while (Date.now() - crashedAt < OLD_LEASE_MS) {
          const response = await callService<MessageView>(b.url, 'POST', `/v1/sessions/${sessionId}/resume`, token, {})
          if (response.status === 200) {
            resumed = response
            break
          }
          refusals.push(response.status)
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
        // Refused only as "a generation is running" while the dead process's lease lasted.
        expect(new Set(refusals)).toEqual(new Set(refusals.length > 0 ? [409] : []))
        expect(resumed, 'resume within the old 30 s lease').not.toBeNull()
        expect(resumed!.body).toMatchObject({ id, status: 'complete', content: `${HELD} time.` })
      })
    } finally {
      llm.setDefault({})
      await database.drop()
    }
  }, 240_000)
})
