import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI_ARGS, CLI_CWD } from './helpers/children.js'
import { callTool, mcpClient, resultText, seedMcpFixture, toolCases, type McpFixture, type Post } from './helpers/mcp.js'
import { childEnv, migratedPostgresDatabase, startService, type ServiceProcess } from './helpers/service-process.js'
import { copyMigratedDataDir } from './helpers/test-database.js'

/**
 * `agentstore mcp` with the SDK's StdioClientTransport: on PGlite through the running embedded
 * server's admin channel (the server holds the data directory), on PostgreSQL in its own process.
 */

const GPT = 'stdio-gpt'
const ADMIN = 'a'.repeat(40)
let service: ServiceProcess
let dataDir: string
let postgres: { url: string; drop(): Promise<void> } | null = null
let storage: Record<string, string>
let token: string
let fixture: McpFixture
const clients: Client[] = []

async function http(url: string, bearer: string, body: unknown): Promise<{ id: string; key?: string }> {
  const response = await fetch(`${service.url}${url}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const text = await response.text()
  if (response.status >= 300) throw new Error(`${url}: ${response.status} ${text}`)
  return JSON.parse(text) as { id: string; key?: string }
}

function stdio(key: string): StdioClientTransport {
  return new StdioClientTransport({
    command: process.execPath,
    args: [...CLI_ARGS, 'mcp'],
    cwd: CLI_CWD,
    env: childEnv({ ...storage, AGENTSTORE_KEY: key, LOG_LEVEL: 'warn' }) as Record<string, string>,
    stderr: 'pipe',
  })
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'agentstore-mcp-stdio-'))
  postgres = process.env.TEST_DATABASE_URL ? await migratedPostgresDatabase(process.env.TEST_DATABASE_URL, 'mcp_stdio') : null
  if (!postgres) await copyMigratedDataDir(dataDir)
  storage = postgres ? { DATABASE_URL: postgres.url } : { DATA_DIR: dataDir }
  service = await startService('mcp-stdio', { ...storage, ADMIN_TOKEN: ADMIN })
  await http('/v1/admin/gpts', ADMIN, { id: GPT, name: 'Stdio' })
  token = (await http(`/v1/admin/gpts/${GPT}/keys`, ADMIN, { scopes: ['read', 'write', 'admin'] })).key!
  const post: Post = (url, body) => http(url, token, body)
  fixture = await seedMcpFixture(post, GPT)
}, 120_000)

afterAll(async () => {
  for (const client of clients) await client.close()
  await service?.stop()
  await postgres?.drop()
  await rm(dataDir, { recursive: true, force: true })
})

describe('agentstore mcp (stdio)', () => {
  it('lists the tools and calls every one, successfully and with bad input', async () => {
    const client = await mcpClient(stdio(token))
    clients.push(client)
    const { tools } = await client.listTools()
    expect(tools.map((tool) => tool.name).sort()).toEqual(toolCases(fixture).map((c) => c.tool).sort())
    for (const { tool, ok } of toolCases(fixture)) {
      const result = await callTool(client, tool, ok)
      expect(result.isError ?? false, `${tool}: ${resultText(result)}`).toBe(false)
      expect(typeof result.structuredContent, tool).toBe('object')
    }
    for (const { tool, bad, refused } of toolCases(fixture)) {
      const result = await callTool(client, tool, bad)
      expect(result.isError, tool).toBe(true)
      expect(resultText(result), tool).toContain(`(${refused}):`)
    }
    const { prompts } = await client.listPrompts()
    expect(prompts.map((prompt) => prompt.name)).toEqual([fixture.characterId])
    await expect(client.getPrompt({ name: 'nope' })).rejects.toThrow(/Not Found|not found/)
  }, 120_000)

  it('refuses to start with a key that is not valid', async () => {
    const transport = stdio('ak_not_a_key')
    let stderr = ''
    transport.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8')
    })
    await expect(mcpClient(transport)).rejects.toThrow()
    expect(stderr).toMatch(/not a valid API key/)
  }, 60_000)
})
