import type { CallToolResult, GetPromptResult, Prompt, Tool } from '@modelcontextprotocol/sdk/types.js'
import { Type, type Static } from 'typebox'
import type { Config } from '../config.js'
import type { McpHandlers } from '../modules/mcp/mcp.server.js'
import { packageVersion } from '../version.js'
import { withOperations, type RunOperation } from './execute.js'
import type { OperationContext } from './operations.js'

export const McpRequestArgs = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 4096 }),
    method: Type.Union([Type.Literal('tools/list'), Type.Literal('tools/call'), Type.Literal('prompts/list'), Type.Literal('prompts/get')]),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    arguments: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
)

const stderrLog = { error: (object: object, message: string) => process.stderr.write(`agentstore mcp: ${message} (${String((object as { err?: unknown }).err)})\n`) }

/**
 * One MCP request of the stdio server, run where the data is (in this process, or in the running
 * embedded server over its admin channel). The key is checked on every request, as over HTTP.
 */
export async function mcpRequest(ctx: OperationContext, args: Static<typeof McpRequestArgs>): Promise<unknown> {
  // The running server reaches this module through its admin channel: the MCP SDK loads on the first request, not at its start.
  const { mcpHandlers } = await import('../modules/mcp/mcp.server.js')
  const principal = await ctx.services.keys.authenticate(args.token)
  const handlers = mcpHandlers({ catalogue: ctx.services.catalogue, prompts: ctx.services.characters, version: packageVersion(), log: stderrLog }, principal)
  switch (args.method) {
    case 'tools/list':
      return handlers.listTools()
    case 'tools/call':
      return handlers.callTool(args.name ?? '', args.arguments ?? {})
    case 'prompts/list':
      return handlers.listPrompts()
    case 'prompts/get':
      return handlers.getPrompt(args.name ?? '', (args.arguments ?? {}) as Record<string, string>)
  }
}

function forwarded(run: RunOperation, token: string): McpHandlers {
  const ask = (method: Static<typeof McpRequestArgs>['method'], extra: { name?: string; arguments?: unknown } = {}) =>
    run('mcp.request', { token, method, ...extra })
  return {
    listTools: async () => (await ask('tools/list')) as Tool[],
    callTool: async (name, args) => (await ask('tools/call', { name, arguments: args })) as CallToolResult,
    listPrompts: async () => (await ask('prompts/list')) as Prompt[],
    getPrompt: async (name, args) => (await ask('prompts/get', { name, arguments: args })) as GetPromptResult,
  }
}

/**
 * `agentstore mcp`: MCP over stdin/stdout for local hosts (Claude Desktop, Claude Code, Cursor). The
 * key is checked once at start, so that a wrong one fails at once with a message on stderr.
 */
export async function serveMcpStdio(config: Config, token: string): Promise<void> {
  const [{ StdioServerTransport }, { createMcpServer }] = await Promise.all([import('@modelcontextprotocol/sdk/server/stdio.js'), import('../modules/mcp/mcp.server.js')])
  await withOperations(config, async (run) => {
    const handlers = forwarded(run, token)
    await handlers.listTools()
    const server = createMcpServer(handlers, packageVersion())
    const closed = new Promise<void>((resolve) => {
      server.onclose = () => resolve()
    })
    await server.connect(new StdioServerTransport())
    await closed
  })
}
