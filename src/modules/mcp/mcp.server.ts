import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import {
  CallToolRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult,
  type GetPromptResult,
  type Prompt,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js'
import type { GptPrincipal } from '../../platform/auth/principal.js'
import { AppError } from '../../platform/errors.js'
import { plainSchema, type Catalogue } from '../catalogue/catalogue.js'
import type { Operation } from '../catalogue/catalogue.types.js'
import { characterPrompts, type CharacterPrompts } from './mcp.prompts.js'

export interface McpDeps {
  catalogue: Catalogue
  prompts: CharacterPrompts
  version: string
  log: { error(object: object, message: string): void }
}

/** How much of a result's JSON the text form carries; structuredContent always has all of it. */
const TEXT_CHARS = 4000

const INSTRUCTIONS =
  'Agentstore keeps this GPT\'s data between conversations: JSON documents in collections (call list_collections first to see ' +
  'their schemas), long-term memories (remember, recall), one search over everything, chat sessions and agent mail.'

function toTool(operation: Operation): Tool {
  return {
    name: operation.name,
    title: operation.title,
    description: operation.description,
    inputSchema: plainSchema(operation.input) as Tool['inputSchema'],
    outputSchema: plainSchema(operation.output) as Tool['outputSchema'],
    annotations: {
      title: operation.title,
      readOnlyHint: operation.readOnly,
      destructiveHint: operation.destructive,
      idempotentHint: operation.readOnly,
      openWorldHint: operation.consequential && !operation.destructive,
    },
  }
}

/** The short text form: what came back in one line, then the JSON (cut with a marker when long). */
function textForm(operation: Operation, value: Record<string, unknown>): string {
  const json = JSON.stringify(value)
  const items = operation.list ? value[operation.list.items] : undefined
  const head = Array.isArray(items)
    ? `${items.length} ${operation.list!.items}${value.has_more === true ? '; more with cursor=' + String(value.next_cursor) : ''}`
    : `${operation.title}: done`
  const body = json.length <= TEXT_CHARS ? json : `${json.slice(0, TEXT_CHARS)}… [cut: the full result is in structuredContent]`
  return `${head}\n${body}`
}

/** A refused call is a result the model can read and act on, never a protocol error. */
function refusal(error: AppError): CallToolResult {
  const { errors } = error.extra as { errors?: { pointer: string; message: string }[] }
  const lines = [`${error.title} (${error.status}): ${error.detail}`, ...(errors ?? []).map((item) => `${item.pointer || '/'} ${item.message}`)]
  return { isError: true, content: [{ type: 'text', text: lines.join('\n') }] }
}

/** What an MCP server answers, as plain functions: over the catalogue here, or forwarded to a running server (stdio). */
export interface McpHandlers {
  listTools(): Promise<Tool[]>
  callTool(name: string, args: unknown): Promise<CallToolResult>
  listPrompts(): Promise<Prompt[]>
  getPrompt(name: string, args: Record<string, string>): Promise<GetPromptResult>
}

/** The handlers for one caller: every call goes through the catalogue with this principal. */
export function mcpHandlers(deps: McpDeps, principal: GptPrincipal): McpHandlers {
  const prompts = characterPrompts(deps.prompts, principal)
  return {
    listTools: async () => deps.catalogue.operations.map(toTool),
    async callTool(name, args) {
      const operation = deps.catalogue.get(name)
      try {
        const value = (await deps.catalogue.call(name, principal, args)) as Record<string, unknown>
        return { content: [{ type: 'text', text: textForm(operation!, value) }], structuredContent: value }
      } catch (error) {
        if (error instanceof AppError) return refusal(error)
        deps.log.error({ err: error, tool: name }, 'MCP tool failed')
        return { isError: true, content: [{ type: 'text', text: 'Internal Server Error (500): the call failed unexpectedly; the service log has the details.' }] }
      }
    },
    listPrompts: () => prompts.list(),
    getPrompt: (name, args) => prompts.get(name, args),
  }
}

/** An MCP server over the handlers; nothing is kept between requests (stateless). */
export function createMcpServer(handlers: McpHandlers, version: string): Server {
  const server = new Server({ name: 'agentstore', version }, { capabilities: { tools: {}, prompts: {} }, instructions: INSTRUCTIONS })
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: await handlers.listTools() }))
  server.setRequestHandler(CallToolRequestSchema, async (request) => handlers.callTool(request.params.name, request.params.arguments))
  server.setRequestHandler(ListPromptsRequestSchema, async () => ({ prompts: await handlers.listPrompts() }))
  server.setRequestHandler(GetPromptRequestSchema, async (request) => {
    try {
      return await handlers.getPrompt(request.params.name, request.params.arguments ?? {})
    } catch (error) {
      // A refused prompt (unknown character, a key that may not read characters) is the caller's mistake, not a crash.
      if (error instanceof AppError) throw new McpError(ErrorCode.InvalidParams, `${error.title}: ${error.detail}`)
      if (error instanceof Error && 'status' in error) throw new McpError(ErrorCode.InvalidParams, error.message)
      throw error
    }
  })
  return server
}
