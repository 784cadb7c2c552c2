import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { accountPrincipal } from '../../platform/auth/auth.plugin.js'
import { pageQuerySchema, setNextLink } from '../../platform/http/pagination.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { ownerOf } from '../gpts/gpts.routes.js'
import { GptParams } from '../gpts/gpts.schemas.js'
import type { AuditScope } from './audit.repo.js'
import { AuditList, auditFilterSchema, type AuditQuery } from './audit.schemas.js'
import type { AuditService } from './audit.service.js'

interface Deps {
  audit: AuditService
  publicUrl: string
  maxPageSize: number
}

const NDJSON = 'application/x-ndjson'

const wantsNdjson = (query: { format?: string }, request: FastifyRequest) =>
  query.format === 'ndjson' || (query.format === undefined && (request.headers.accept ?? '').includes(NDJSON))

/** A page as JSON, or every matching row as NDJSON (streamed a batch at a time). */
async function answer(
  audit: AuditService,
  scope: AuditScope,
  query: AuditQuery & { format?: string },
  request: FastifyRequest,
  reply: FastifyReply,
  publicUrl: string,
) {
  if (wantsNdjson(query, request)) {
    const lines = audit.export(scope, query)
    reply.type(NDJSON).header('content-disposition', 'attachment; filename="audit.ndjson"')
    return reply.send(Readable.from(lines) as unknown as string)
  }
  const page = await audit.list(scope, query)
  setNextLink(request, reply, publicUrl, page.nextCursor)
  return { audit: page.items, next_cursor: page.nextCursor, has_more: page.hasMore }
}

/** GET /v1/gpts/{gpt_id}/audit (the GPT's admin key or its owner) and GET /v1/accounts/me/audit. */
export function auditRoutes({ audit, publicUrl, maxPageSize }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const querystring = Type.Object({ ...pageQuerySchema({ maxPageSize }), ...auditFilterSchema }, { additionalProperties: false })
    const common = { tags: ['audit'], security: BEARER_SECURITY, produces: ['application/json', NDJSON] }

    app.get(
      '/v1/gpts/:gpt_id/audit',
      {
        config: { access: 'key', scope: 'admin', accounts: true },
        schema: {
          ...common,
          operationId: 'listGptAudit',
          summary: "The GPT's audit log: every authenticated request and identity event, newest first",
          params: GptParams,
          querystring,
          response: { 200: AuditList, ...problemResponses(400, 401, 403, 404, 422) },
        },
      },
      async (request, reply) => answer(audit, await audit.gptScope(request.params.gpt_id, ownerOf(request)), request.query, request, reply, publicUrl),
    )

    app.get(
      '/v1/accounts/me/audit',
      {
        config: { access: 'account' },
        schema: {
          ...common,
          operationId: 'listAccountAudit',
          summary: "The account's audit log: its own events (logins, password changes...) and its GPTs'",
          querystring,
          response: { 200: AuditList, ...problemResponses(400, 401, 422) },
        },
      },
      async (request, reply) => answer(audit, await audit.accountScope(accountPrincipal(request).accountId), request.query, request, reply, publicUrl),
    )
  }
}
