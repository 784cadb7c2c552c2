import { randomBytes } from 'node:crypto'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callTool, mcpClient, resultText, seedMcpFixture, toolCases, type Post } from './helpers/mcp.js'
import { migratedPostgresDatabase, startService, withLogs, type ServiceProcess } from './helpers/service-process.js'

/**
 * /mcp keeps no per-process session state: one SDK client whose requests go to two service processes
 * in turn (PostgreSQL: PGlite is one process) initializes on one, and lists and calls every tool,
 * successfully and with bad input, on both. A GPT's Action exposure stored through one process is
 * what the other's spec offers.
 */

const SERVER_URL = process.env.TEST_DATABASE_URL
const adminToken = randomBytes(24).toString('hex')
const GPT = 'mcp-2p'

async function call<T>(method: 'GET' | 'POST' | 'PATCH', url: string, token: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T }
}

/** Which process answered each JSON-RPC message the client posted, in order. */
interface Served {
  process: number
  method: string
}

/**
 * A fetch that sends each message the client posts to the next process in turn, whatever URL the
 * transport asked for (its GET for a server stream, made when the SDK decides, goes where the turn is
 * without taking it, so that which process answers which message is fixed).
 */
function alternating(pair: ServiceProcess[], served: Served[]): typeof fetch {
  let turn = 0
  return async (input, init) => {
    const process = turn % pair.length
    const url = new URL(input instanceof Request ? input.url : String(input))
    const method = init?.method ?? 'GET'
    if (method === 'POST') {
      const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as { method?: string }) : null
      served.push({ process, method: `POST ${body?.method ?? ''}` })
      turn++
    }
    return fetch(new URL(url.pathname + url.search, pair[process]!.url), init)
  }
}

describe.skipIf(!SERVER_URL)('MCP over Streamable HTTP on two service processes', () => {
  let database: { url: string; drop(): Promise<void> }
  let pair: ServiceProcess[] = []
  let token: string
  let client: Client | null = null

  beforeAll(async () => {
    database = await migratedPostgresDatabase(SERVER_URL!, 'agentstore_mcp2p')
    const env = { DATABASE_URL: database.url, ADMIN_TOKEN: adminToken, LLM_PROVIDER: 'offline' }
    pair = await Promise.all([startService('a', env), startService('b', env)])
    expect((await call('POST', `${pair[0]!.url}/v1/admin/gpts`, adminToken, { id: GPT, name: 'Two processes' })).status).toBe(201)
    token = (await call<{ key: string }>('POST', `${pair[0]!.url}/v1/admin/gpts/${GPT}/keys`, adminToken, { scopes: ['read', 'write', 'admin'] })).body.key
  }, 180_000)

  afterAll(async () => {
    await client?.close()
    await Promise.all(pair.map((service) => service.stop()))
    await database?.drop()
  })

  it('one client, requests alternating between the processes: every tool answers on both', async () => {
    await withLogs(pair, async () => {
      // The fixture is made through process B, the client starts on process A.
      const post: Post = async (url, body) => {
        const response = await call<{ id: string }>('POST', `${pair[1]!.url}${url}`, token, body)
        if (response.status >= 300) throw new Error(`${url}: ${response.status} ${JSON.stringify(response.body)}`)
        return response.body
      }
      const fixture = await seedMcpFixture(post, GPT)
      const served: Served[] = []
      const transport = new StreamableHTTPClientTransport(new URL(`${pair[0]!.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
        fetch: alternating(pair, served),
      })
      client = await mcpClient(transport)
      expect(transport.sessionId).toBeUndefined()

      const cases = toolCases(fixture)
      for (let round = 0; round < 2; round++) {
        const { tools } = await client.listTools()
        expect(tools.map((tool) => tool.name).sort()).toEqual(cases.map((c) => c.tool).sort())
      }
      for (const { tool, ok, bad, refused } of cases) {
        const done = await callTool(client, tool, ok)
        expect(done.isError ?? false, `${tool}: ${resultText(done)}`).toBe(false)
        expect(typeof done.structuredContent, tool).toBe('object')
        const failed = await callTool(client, tool, bad)
        expect(failed.isError, `${tool}: ${resultText(failed)}`).toBe(true)
        expect(resultText(failed), tool).toContain(`(${refused}):`)
      }

      expect(served.slice(0, 2)).toEqual([
        { process: 0, method: 'POST initialize' },
        { process: 1, method: 'POST notifications/initialized' },
      ])
      for (const process of [0, 1]) {
        expect(served.filter((entry) => entry.process === process && entry.method === 'POST tools/list')).toHaveLength(1)
        // Each tool is called twice (success, bad input), so each process answers one call per tool.
        expect(served.filter((entry) => entry.process === process && entry.method === 'POST tools/call')).toHaveLength(cases.length)
      }
    })
  }, 180_000)

  it("a GPT's Action exposure stored through one process is what the other's spec offers", async () => {
    await withLogs(pair, async () => {
      const exposure = { parts: ['mail'], collections: null }
      const stored = await call<{ action_exposure: unknown }>('PATCH', `${pair[0]!.url}/v1/gpts/${GPT}`, token, { action_exposure: exposure })
      expect(stored.status).toBe(200)
      expect(stored.body.action_exposure).toEqual(exposure)
      const spec = await call<{ paths: Record<string, { post: { operationId: string } }> }>('GET', `${pair[1]!.url}/v1/gpts/${GPT}/openapi.json`, '')
      expect(spec.status).toBe(200)
      expect(Object.values(spec.body.paths).map((item) => item.post.operationId).sort()).toEqual(['list_conversations', 'mark_read', 'read_inbox', 'send_mail'])
    })
  }, 60_000)
})
