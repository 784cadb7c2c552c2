import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callTool, injectPost, mcpClient, resultText, seedMcpFixture, toolCases, type McpFixture } from './helpers/mcp.js'
import { createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

/** MCP over Streamable HTTP with the SDK's own client against a listening server: tools, prompts, auth, Origin. */

const GPT = 'mcp-gpt'
let t: TestApp
let base: string
let token: string
let fixture: McpFixture
const clients: Client[] = []

async function connect(key: string, headers: Record<string, string> = {}): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${key}`, ...headers } },
  })
  const client = await mcpClient(transport)
  clients.push(client)
  return client
}

const post = (headers: Record<string, string>, body: unknown = { jsonrpc: '2.0', id: 1, method: 'tools/list' }) =>
  fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  })

beforeAll(async () => {
  t = await createTestApp({ env: { LLM_PROVIDER: 'offline', MCP_ALLOWED_ORIGINS: 'https://app.example.com' } })
  await t.app.listen({ port: 0, host: '127.0.0.1' })
  const address = t.app.server.address()
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  token = (await createGptWithKey(t.services, GPT, ['read', 'write', 'admin'])).token
  fixture = await seedMcpFixture(injectPost(t.app, token), GPT)
})

afterAll(async () => {
  for (const client of clients) await client.close()
  await t.close()
})

describe('tools over Streamable HTTP', () => {
  it('negotiates the newest protocol revision and lists every catalogue operation with its hints', async () => {
    const client = await connect(token)
    const transport = client.transport as StreamableHTTPClientTransport
    expect(transport.protocolVersion).toBe(LATEST_PROTOCOL_VERSION)
    expect(transport.sessionId).toBeUndefined()
    const { tools } = await client.listTools()
    expect(tools.map((tool) => tool.name).sort()).toEqual(toolCases(fixture).map((c) => c.tool).sort())
    const byName = new Map(tools.map((tool) => [tool.name, tool]))
    expect(byName.get('list_documents')!.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false })
    expect(byName.get('delete_document')!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true })
    expect(byName.get('create_document')!.inputSchema.required).toEqual(['collection', 'document'])
    for (const tool of tools) expect(tool.outputSchema?.type).toBe('object')
  })

  it('calls every tool successfully: structured content and a short text form', async () => {
    const client = await connect(token)
    for (const { tool, ok } of toolCases(fixture)) {
      const result = await callTool(client, tool, ok)
      expect(result.isError ?? false, `${tool}: ${resultText(result)}`).toBe(false)
      expect(typeof result.structuredContent, tool).toBe('object')
      expect(resultText(result).length, tool).toBeGreaterThan(0)
    }
  })

  it('answers bad input with a tool error holding the problem, and the session goes on', async () => {
    const client = await connect(token)
    for (const { tool, bad, refused } of toolCases(fixture)) {
      const result = await callTool(client, tool, bad)
      expect(result.isError, `${tool}: ${resultText(result)}`).toBe(true)
      expect(resultText(result), tool).toContain(`(${refused}):`)
      expect(result.structuredContent, tool).toBeUndefined()
    }
    const unknown = await callTool(client, 'no_such_tool', {})
    expect(unknown.isError).toBe(true)
    expect(resultText(unknown)).toContain('Not Found (404)')
    expect((await client.listTools()).tools.length).toBeGreaterThan(0)
  })

  it('puts the failing fields into the text of a validation error', async () => {
    const client = await connect(token)
    const result = await callTool(client, 'create_document', { collection: 'notes', document: { title: 'x' }, extra: 1 })
    expect(resultText(result)).toMatch(/^Validation Failed \(422\): .*\n\/extra is not an allowed property/)
  })

  it('refuses, as a tool error, what the key may not do: scope, agent-bound keys, the mail party rule', async () => {
    const reader = await connect((await createGptWithKey(t.services, GPT, ['read'])).token)
    const write = await callTool(reader, 'remember', { content: 'x' })
    expect(resultText(write)).toBe('Forbidden (403): This API key lacks the "write" scope.')
    expect((await callTool(reader, 'list_collections', {})).isError ?? false).toBe(false)

    const agentKey = await t.services.keys.createKey(GPT, { scopes: ['read', 'write'], agent_id: fixture.recipient })
    const agent = await connect(agentKey.key)
    expect(resultText(await callTool(agent, 'list_collections', {}))).toMatch(/^Forbidden \(403\): This key is bound to an agent/)
    expect((await callTool(agent, 'read_inbox', { agent_id: fixture.recipient })).isError ?? false).toBe(false)
    const spoofed = await callTool(agent, 'send_mail', { from: fixture.sender, to: [fixture.recipient], content: 'as someone else' })
    expect(spoofed.isError).toBe(true)
    expect(resultText(spoofed)).toMatch(/\(403\)/)
  })

  it("never reaches another GPT's data", async () => {
    const other = await connect((await createGptWithKey(t.services, 'mcp-other')).token)
    const result = await callTool(other, 'get_document', { collection: 'notes', id: fixture.documentId })
    expect(resultText(result)).toMatch(/^Not Found \(404\)/)
  })
})

describe('characters as prompts', () => {
  it('lists each character and returns its system prompt', async () => {
    const client = await connect(token)
    const { prompts } = await client.listPrompts()
    expect(prompts).toEqual([expect.objectContaining({ name: fixture.characterId, title: 'Guide' })])
    const prompt = await client.getPrompt({ name: fixture.characterId, arguments: { message: 'Hi' } })
    expect(prompt.messages.map((m) => (m.content.type === 'text' ? m.content.text : ''))).toEqual([
      'From now on, act as this character:\n\nYou are Guide, a terse travel assistant.',
      'Hi',
    ])
    await expect(client.getPrompt({ name: 'nope' })).rejects.toThrow(/Not Found/)
  })
})

describe('the HTTP edge of /mcp', () => {
  it('asks for a Bearer key: 401 problem with WWW-Authenticate', async () => {
    for (const headers of [{}, { authorization: 'Bearer ak_nope' }] as Record<string, string>[]) {
      const response = await post(headers)
      expect(response.status).toBe(401)
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/)
    }
  })

  it('refuses origins that are not allowed, takes allowed ones and requests without Origin', async () => {
    const refused = await post({ authorization: `Bearer ${token}`, origin: 'https://evil.example' })
    expect(refused.status).toBe(403)
    expect(((await refused.json()) as { detail: string }).detail).toContain('https://evil.example')
    for (const origin of ['https://app.example.com', 'http://agentstore.test']) {
      expect((await post({ authorization: `Bearer ${token}`, origin })).status).toBe(200)
    }
    const client = await connect(token, { origin: 'https://app.example.com' })
    expect((await client.listTools()).tools.length).toBe(toolCases(fixture).length)
  })

  it('keeps no sessions: GET and DELETE are 405', async () => {
    for (const method of ['GET', 'DELETE']) {
      const response = await fetch(`${base}/mcp`, { method, headers: { authorization: `Bearer ${token}` } })
      expect(response.status, method).toBe(405)
      expect(response.headers.get('allow')).toContain('POST')
    }
  })
})
