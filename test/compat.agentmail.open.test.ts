// COMPAT_AGENTMAIL_OPEN_GPT: the agent-messaging surface without keys, inside the GPT the operator named.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.js'
import { expectDetail } from './helpers/agentmail.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

const OPEN = 'open-demo'

let t: TestApp
let openKey: string
let otherKey: string

beforeAll(async () => {
  t = await createTestApp({ env: { COMPAT_AGENTMAIL_OPEN_GPT: OPEN } })
  otherKey = (await createGptWithKey(t.services, 'open-other')).token
})

afterAll(async () => {
  await t?.close()
})

describe('agent messaging without keys', () => {
  it('refuses keyless calls while the named GPT does not exist, and serves them once it does', async () => {
    expectDetail(await injectJson(t.app, 'POST', '/agents', {}, { agent_name: 'early' }), 403, 'Not authenticated')
    openKey = (await createGptWithKey(t.services, OPEN)).token
    expect((await injectJson(t.app, 'POST', '/agents', {}, { agent_name: 'early' })).statusCode).toBe(201)
  })

  it('works inside the named GPT when no Authorization header is sent, and says so in the log', async () => {
    const created = await injectJson(t.app, 'POST', '/agents', {}, { agent_name: 'keyless' })
    expect(created.statusCode, created.body).toBe(201)
    const { id } = created.json<{ id: string }>()
    expect((await injectJson(t.app, 'GET', `/v1/agents/${id}`, bearer(openKey))).json()).toMatchObject({ gpt_id: OPEN })
    expect((await injectJson(t.app, 'GET', `/agents/${id}/messages`, {})).json()).toEqual([])
    expect(t.logs.some((line) => line.gpt_id === OPEN && /without a key/.test(String(line.msg)))).toBe(true)
  })

  it('still checks a key that is sent: another GPT\'s key works in its own GPT, a wrong one is refused', async () => {
    const created = await injectJson(t.app, 'POST', '/agents', bearer(otherKey), { agent_name: 'keyed' })
    const { id } = created.json<{ id: string }>()
    expect((await injectJson(t.app, 'GET', `/v1/agents/${id}`, bearer(otherKey))).json()).toMatchObject({ gpt_id: 'open-other' })
    expectDetail(await injectJson(t.app, 'POST', '/agents', bearer('wrong'), { agent_name: 'x' }), 401, 'Invalid API key')
  })

  it('opens no other route: the house API still needs a key', async () => {
    const response = await injectJson(t.app, 'GET', `/v1/gpts/${OPEN}/agents`, {})
    expect(response.statusCode).toBe(401)
  })
})

describe('COMPAT_AGENTMAIL_OPEN_GPT', () => {
  it('is refused unless the server listens on loopback only', () => {
    expect(loadConfig({ COMPAT_AGENTMAIL_OPEN_GPT: OPEN }).compatAgentmailOpenGpt).toBe(OPEN)
    expect(loadConfig({ COMPAT_AGENTMAIL_OPEN_GPT: OPEN, HOST: '::1' }).compatAgentmailOpenGpt).toBe(OPEN)
    for (const host of ['0.0.0.0', '192.168.1.5', '::']) {
      expect(() => loadConfig({ COMPAT_AGENTMAIL_OPEN_GPT: OPEN, HOST: host })).toThrow(/COMPAT_AGENTMAIL_OPEN_GPT.*loopback/)
    }
    expect(loadConfig({}).compatAgentmailOpenGpt).toBeNull()
  })
})
