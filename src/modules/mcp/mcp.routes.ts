import type { FastifyInstance, FastifyRequest } from 'fastify'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { Type } from 'typebox'
import { bearerToken } from '../../platform/auth/auth.plugin.js'
import type { KeyPrincipal } from '../../platform/auth/principal.js'
import { ERR } from '../../platform/errors.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { createMcpServer, mcpHandlers, type McpDeps } from './mcp.server.js'

interface Deps extends Omit<McpDeps, 'log'> {
  /** The same key authentication as the HTTP API. */
  authenticateKey: (token: string) => Promise<KeyPrincipal>
  publicUrl: string
  allowedOrigins: string[]
}

/**
 * Who calls /mcp: today a GPT key as Bearer token. This is the one place that decides it (an OAuth
 * access token for this resource would be accepted here too).
 */
async function mcpPrincipal(request: FastifyRequest, authenticateKey: Deps['authenticateKey']): Promise<KeyPrincipal> {
  return authenticateKey(bearerToken(request))
}

/**
 * POST /mcp: MCP over Streamable HTTP, stateless — a new server and transport per request, no session
 * ids, so any replica can answer any request. GET (a standalone event stream) and DELETE (ending a
 * session) have no meaning without sessions and answer 405.
 */
export function mcpRoutes(deps: Deps) {
  return async (app: FastifyInstance) => {
    const origins = new Set([new URL(deps.publicUrl).origin, ...deps.allowedOrigins])
    app.post(
      '/mcp',
      {
        // Authentication happens in the hook below, after the Origin check (a refused origin learns nothing about keys).
        config: { access: 'public' },
        onRequest: async (request) => {
          const origin = request.headers.origin
          if (origin !== undefined && !origins.has(origin)) {
            throw ERR.forbidden(`Requests from the origin ${JSON.stringify(origin)} may not use /mcp (MCP_ALLOWED_ORIGINS lists the allowed ones).`)
          }
          request.principal = await mcpPrincipal(request, deps.authenticateKey)
        },
        schema: {
          tags: ['mcp'],
          security: BEARER_SECURITY,
          operationId: 'mcp',
          summary: 'Model Context Protocol (Streamable HTTP, stateless): tools and prompts for MCP clients',
          description: 'A JSON-RPC message as the MCP specification defines it; the answer is JSON. See docs/mcp.md.',
          body: Type.Object({}, { additionalProperties: true, description: 'A JSON-RPC request or notification.' }),
          response: { 200: Type.Object({}, { additionalProperties: true }), 202: Type.Null(), ...problemResponses(400, 401, 403, 406, 415, 422) },
        },
      },
      async (request, reply) => {
        const principal = request.principal
        if (principal?.kind !== 'key' && principal?.kind !== 'token') throw ERR.unauthorized('Send a GPT key as `Authorization: Bearer <key>`.')
        const server = createMcpServer(mcpHandlers({ ...deps, log: request.log }, principal), deps.version)
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true })
        reply.hijack()
        reply.raw.on('close', () => {
          void transport.close()
          void server.close()
        })
        await server.connect(transport)
        await transport.handleRequest(request.raw, reply.raw, request.body)
      },
    )
  }
}
