import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { extractionApi } from './helpers/extraction.js'
import { fakePromptTokens, fakeTokenCount, startFakeLlmServer, type FakeLlmServer } from './helpers/fake-llm-server.js'
import { createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'
import { EXTRACTION_SYSTEM_PROMPT, LLM_ATTEMPTS } from '../src/modules/extraction/extraction.llm.js'

const GPT = 'gpt-extract-llm'
const BUDGET_GPT = 'gpt-extract-budget'
let fake: FakeLlmServer
let t: TestApp
let token: string
let budgetToken: string
const api = extractionApi(() => t, () => token, GPT)
const budget = extractionApi(() => t, () => budgetToken, BUDGET_GPT)

const answer = (decisions: unknown[]) => ({ tokens: [JSON.stringify({ decisions })] })

beforeAll(async () => {
  fake = await startFakeLlmServer()
  t = await createTestApp({ env: { LLM_PROVIDER: 'openai', LLM_BASE_URL: fake.openaiBaseUrl, LLM_MODEL: 'fake-model', EXTRACTION_TOKENS_PER_DAY: '100000' } })
  token = (await createGptWithKey(t.services, GPT)).token
  budgetToken = (await createGptWithKey(t.services, BUDGET_GPT)).token
}, 120_000)
afterAll(async () => {
  await t?.close()
  await fake?.close()
})

describe('the LLM extractor against the fake provider', () => {
  it('sends the prompt contract (strict json_schema, known memories and messages with ids) and applies the decisions with the provider\'s token counts', async () => {
    const session = await api.session('zoe')
    const [message] = await api.say(session, 'I moved to Oslo and I am training for a marathon.')
    const known = await api.call('POST', `/v1/gpts/${GPT}/memories`, { content: 'The user lives in Bergen.', user_id: 'zoe' })
    const bergen = known.json<{ id: string }>().id
    const before = fake.requests.length
    const reply = answer([
      { action: 'supersede', content: 'The user lives in Oslo.', memory_id: bergen, message_ids: [message] },
      { action: 'add', content: 'The user is training for a marathon.', memory_id: null, message_ids: [message] },
    ])
    const answerText = reply.tokens.join('')
    fake.script(reply)
    const run = await api.extract(session)
    expect(run).toMatchObject({ status: 'done', extractor: 'llm:openai/fake-model', attempts: 1, summary: { add: 1, supersede: 1 } })
    const request = fake.requests[before]!
    expect(request.body.stream).not.toBe(true)
    expect(request.body['response_format']).toMatchObject({ type: 'json_schema', json_schema: { name: 'memory_decisions', strict: true } })
    expect(request.body.messages?.[0]).toEqual({ role: 'system', content: EXTRACTION_SYSTEM_PROMPT })
    const prompt = JSON.parse(request.body.messages?.[1]?.content as string) as { known_memories: { id: string }[]; new_messages: { id: string; sender: string; content: string }[] }
    expect(prompt.new_messages).toEqual([{ id: message, sender: 'user', content: 'I moved to Oslo and I am training for a marathon.' }])
    expect(prompt.known_memories.map((memory) => memory.id)).toContain(bergen)
    // The run carries what the provider counted.
    expect(run.tokens_in).toBe(fakePromptTokens(request.body))
    expect(run.tokens_out).toBe(fakeTokenCount(answerText))
    const oslo = run.decisions.find((decision) => decision.action === 'supersede')!
    expect(oslo).toMatchObject({ supersedes: bergen, message_ids: [message] })
    expect((await api.call('GET', `/v1/memories/${bergen}`)).json<{ superseded_by: string }>().superseded_by).toBe(oslo.memory_id)
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(metrics).toMatch(new RegExp(`extraction_llm_tokens_total\\{direction="in"\\} ${run.tokens_in}\\b`))
    expect(metrics).toMatch(/extraction_runs_total\{status="done"\} \d+/)
  }, 60_000)

  it('retries output that is not JSON of the schema, then marks the run failed with the reason, tokens and attempts', async () => {
    const session = await api.session('yan')
    const [message] = await api.say(session, 'I prefer tea.')
    const before = fake.requests.length
    fake.script({ tokens: ['not json'] }, answer([{ action: 'update', content: 'x', memory_id: null, message_ids: [message] }]), { tokens: ['{"decisions": "no"}'] })
    const run = await api.extract(session)
    expect(run).toMatchObject({ status: 'failed', attempts: LLM_ATTEMPTS, decisions: [] })
    expect(run.reason).toMatch(/rejected 3 times; last: does not match the schema/)
    expect(fake.requests.length - before).toBe(LLM_ATTEMPTS)
    // The retry shows the model its rejected answer and why.
    const retry = fake.requests[before + 1]!.body.messages!
    expect(retry.at(-2)).toEqual({ role: 'assistant', content: 'not json' })
    expect(retry.at(-1)?.content).toMatch(/rejected: not JSON/)
    const spent = fake.requests.slice(before).reduce((sum, request) => sum + fakePromptTokens(request.body), 0)
    expect(run.tokens_in).toBe(spent)
    // The cursor stayed: the next run reads the same message, and a good answer is applied.
    fake.script(answer([{ action: 'add', content: 'The user prefers tea.', memory_id: null, message_ids: [message] }]))
    const next = await api.extract(session)
    expect(next).toMatchObject({ status: 'done', attempts: 1, messages_read: 1, summary: { add: 1 } })
  }, 60_000)

  it('waits, saying why, once the GPT spent its tokens of the day; another GPT is not held back', async () => {
    await t.close()
    t = await createTestApp({ env: { LLM_PROVIDER: 'openai', LLM_BASE_URL: fake.openaiBaseUrl, EXTRACTION_TOKENS_PER_DAY: '50' } })
    budgetToken = (await createGptWithKey(t.services, BUDGET_GPT)).token
    token = (await createGptWithKey(t.services, GPT)).token
    const session = await budget.session('val')
    await budget.say(session, 'I am a chemist.')
    fake.script(answer([]))
    const first = await budget.extract(session)
    expect(first.status).toBe('done')
    expect(first.tokens_in + first.tokens_out).toBeGreaterThanOrEqual(50)
    const calls = fake.requests.length
    await budget.say(session, 'I live in Lyon.')
    const second = await budget.extract(session)
    expect(second).toMatchObject({ status: 'waiting_budget', attempts: 0 })
    expect(second.reason).toMatch(/EXTRACTION_TOKENS_PER_DAY.*00:00 UTC/)
    expect(fake.requests.length).toBe(calls)
    // A second request joins the waiting run.
    const again = await budget.call('POST', `/v1/sessions/${session}/extract`)
    expect(again.statusCode).toBe(202)
    expect(again.json<{ id: string }>().id).toBe(second.id)
    const other = await api.session('wes')
    await api.say(other, 'I am a baker.')
    fake.script(answer([]))
    expect((await api.extract(other)).status).toBe('done')
    expect(fake.requests.length).toBe(calls + 1)
    expect((await t.app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/extraction_runs_total\{status="waiting_budget"\} 1\b/)
  }, 120_000)
})

describe('the Anthropic provider', () => {
  it('forces the answer through one tool whose input schema is the answer\'s', async () => {
    await t.close()
    t = await createTestApp({ env: { LLM_PROVIDER: 'anthropic', LLM_API_KEY: 'sk-ant-test', LLM_BASE_URL: fake.url } })
    token = (await createGptWithKey(t.services, GPT)).token
    const session = await api.session('una')
    const [message] = await api.say(session, 'I love sailing.')
    const before = fake.requests.length
    fake.script(answer([{ action: 'add', content: 'The user loves sailing.', memory_id: null, message_ids: [message] }]))
    const run = await api.extract(session)
    expect(run).toMatchObject({ status: 'done', summary: { add: 1 }, decisions: [{ content: 'The user loves sailing.', message_ids: [message] }] })
    const request = fake.requests[before]!
    expect(request.protocol).toBe('anthropic')
    expect(request.body['tool_choice']).toEqual({ type: 'tool', name: 'memory_decisions' })
    expect(request.body.system).toBe(EXTRACTION_SYSTEM_PROMPT)
    expect(run.tokens_in).toBe(fakePromptTokens(request.body))
  }, 60_000)
})
