import type { FastifyContextConfig, FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { auditContext } from '../../platform/audit/audit.js'
import { keyPrincipal } from '../../platform/auth/auth.plugin.js'
import { pageQuerySchema, setNextLink } from '../../platform/http/pagination.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { ownerOf } from '../gpts/gpts.routes.js'
import { GptParams } from '../gpts/gpts.schemas.js'
import { CreatedApiKey, CreateKeyBody, KeyList, KeyParams } from './keys.schemas.js'
import type { KeysService } from './keys.service.js'

interface Deps {
  keys: KeysService
  publicUrl: string
  maxPageSize: number
}

/**
 * The same three key operations for the operator (admin token, any GPT, under /v1/admin) and, under
 * /v1, for a GPT's own key with the `admin` scope (its own GPT only) or an account (the GPTs it owns).
 */
export function keyRoutes({ keys, publicUrl, maxPageSize }: Deps, caller: 'operator' | 'tenant') {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const operator = caller === 'operator'
    const base = operator ? '/v1/admin' : '/v1'
    const config: FastifyContextConfig = operator ? { access: 'admin' } : { access: 'key', scope: 'admin', accounts: true }
    const common = { tags: [operator ? 'admin' : 'keys'], security: BEARER_SECURITY }
    const denied = operator ? [401] : [401, 403]
    const op = (name: string) => (operator ? `admin${name}` : name.charAt(0).toLowerCase() + name.slice(1))

    app.post(
      `${base}/gpts/:gpt_id/keys`,
      {
        config: { ...config, optionalBody: true },
        schema: {
          ...common,
          operationId: op('CreateKey'),
          summary: 'Create an API key (the secret is shown once)',
          params: GptParams,
          body: CreateKeyBody,
          response: { 201: CreatedApiKey, ...problemResponses(...denied, 404, 422) },
        },
      },
      async (request, reply) => reply.code(201).send(await keys.createKey(request.params.gpt_id, request.body, ownerOf(request), auditContext(request))),
    )

    app.get(
      `${base}/gpts/:gpt_id/keys`,
      {
        config,
        schema: {
          ...common,
          operationId: op('ListKeys'),
          summary: 'List API keys (metadata only, never secrets)',
          params: GptParams,
          querystring: Type.Object(pageQuerySchema({ maxPageSize }), { additionalProperties: false }),
          response: { 200: KeyList, ...problemResponses(400, ...denied, 404, 422) },
        },
      },
      async (request, reply) => {
        const page = await keys.listKeys(request.params.gpt_id, request.query, ownerOf(request))
        setNextLink(request, reply, publicUrl, page.nextCursor)
        return { keys: page.items, next_cursor: page.nextCursor, has_more: page.hasMore }
      },
    )

    app.delete(
      `${base}/keys/:key_id`,
      {
        config,
        schema: {
          ...common,
          operationId: op('RevokeKey'),
          summary: 'Revoke an API key (effective at once)',
          params: KeyParams,
          response: { 204: Type.Null(), ...problemResponses(...denied, 404, 422) },
        },
      },
      async (request, reply) => {
        const owner = ownerOf(request)
        const gptId = operator || owner !== null ? null : keyPrincipal(request).gptId
        await keys.revokeKey(gptId, request.params.key_id, owner, auditContext(request))
        return reply.code(204).send(null)
      },
    )
  }
}

/** GET /v1/me: who the calling key is. */
export function meRoutes() {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    app.get(
      '/v1/me',
      {
        config: { agentKeys: true, endUsers: true },
        schema: {
          tags: ['keys'],
          security: BEARER_SECURITY,
          operationId: 'getMe',
          summary: 'The caller: its key id (or app and end user for an access token, or the owner naming its GPT), GPT and scopes',
          response: {
            200: Type.Object({
              key_id: Type.Union([Type.String(), Type.Null()]),
              gpt_id: Type.String(),
              scopes: Type.Array(Type.String()),
              agent_id: Type.Union([Type.String(), Type.Null()]),
              client_id: Type.Optional(Type.String({ description: 'The app of an access token.' })),
              end_user_id: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'The end user of an access token (null: the app itself).' })),
              owner_account_id: Type.Optional(
                Type.Union([Type.String(), Type.Null()], { description: 'An owner acting through the Agentstore-GPT header: its account (null: the operator).' }),
              ),
            }),
            ...problemResponses(401),
          },
        },
      },
      async (request) => {
        const principal = keyPrincipal(request)
        const common = { gpt_id: principal.gptId, scopes: principal.scopes, agent_id: principal.agentId }
        if (principal.kind === 'key') return { key_id: principal.keyId, ...common }
        if (principal.kind === 'owner') return { key_id: null, ...common, owner_account_id: principal.accountId }
        return { key_id: null, ...common, client_id: principal.clientId, end_user_id: principal.endUserId }
      },
    )
  }
}
