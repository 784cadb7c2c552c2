import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { bearerToken } from '../../platform/auth/auth.plugin.js'
import { claimsClientId } from '../../platform/auth/oauth-access-tokens.js'
import type { GptPrincipal, KeyPrincipal, TokenPrincipal } from '../../platform/auth/principal.js'
import { AppError, ERR, ErrorCode } from '../../platform/errors.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import type { McpDeps } from './mcp.server.js'

interface Deps extends Omit<McpDeps, 'log'> {
  /** The same key authentication as the HTTP API. */
  authenticateKey: (token: string) => Promise<KeyPrincipal>
  /** An OAuth access token whose audience is this MCP endpoint. */
  authenticateToken: (token: string) => Promise<TokenPrincipal>
  /** Where a client finds how to get such a token (RFC 9728), named in every 401. */
  resourceMetadataUrl: string
  publicUrl: string
  allowedOrigins: string[]
}

/**
 * Who calls /mcp: a GPT key, or an OAuth access token issued for this resource (`aud` is the MCP
 * endpoint: a token for the HTTP API is refused). Every 401 names the protected resource metadata
 * (RFC 9728 §5.1), where an MCP client discovers the authorization server.
 */
async function mcpPrincipal(request: FastifyRequest, deps: Deps): Promise<GptPrincipal> {
  try {
    const token = bearerToken(request)
    return claimsClientId(token) ? await deps.authenticateToken(token) : await deps.authenticateKey(token)
  } catch (error) {
    if (!(error instanceof AppError) || error.status !== 401) throw error
    const invalid = /error="invalid_token"/.test(error.extra.headers?.['www-authenticate'] ?? '') ? ', error="invalid_token"' : ''
    throw new AppError(ErrorCode.Unauthorized, error.detail, {
      headers: { 'www-authenticate': `Bearer resource_metadata="${deps.resourceMetadataUrl}"${invalid}` },
    })
  }
}

/**
 * The MCP SDK (with zod, ~30 MB resident) is loaded on the first request to /mcp, not at start: most
 * servers never get one. One import for the process; a failed one is tried again by the next request.
 */
let sdk: Promise<[typeof import('@modelcontextprotocol/sdk/server/streamableHttp.js'), typeof import('./mcp.server.js')]> | null = null
function loadSdk() {
  sdk ??= Promise.all([import('@modelcontextprotocol/sdk/server/streamableHttp.js'), import('./mcp.server.js')]).catch((error: unknown) => {
    sdk = null
    throw error
  })
  return sdk
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
          request.principal = await mcpPrincipal(request, deps)
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
        const [{ StreamableHTTPServerTransport }, { createMcpServer, mcpHandlers }] = await loadSdk()
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
