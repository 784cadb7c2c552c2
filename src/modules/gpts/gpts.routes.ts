import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { accountPrincipal } from '../../platform/auth/auth.plugin.js'
import { pageQuerySchema, setNextLink } from '../../platform/http/pagination.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { CreateGptBody, Gpt, GptList, GptParams, UpdateGptBody } from './gpts.schemas.js'
import type { GptsService } from './gpts.service.js'

interface Deps {
  gpts: GptsService
  publicUrl: string
  maxPageSize: number
}

const UPDATE_DESCRIPTION =
  'Changes the name, the description, the retention settings (`session_retention_days`, `mail_retention_days`: they delete data, hence the admin scope), or `action_exposure`: what the GPT\'s Action spec offers. An exposure whose spec would break GPT Actions\' limits, or that names a collection the GPT does not have, is refused with a 422 naming what to drop.'

/** Operator routes (admin token): create, list, read, change and delete GPTs. */
export function adminGptRoutes({ gpts, publicUrl, maxPageSize }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const common = { tags: ['admin'], security: BEARER_SECURITY }
    const config = { access: 'admin' as const }

    app.post(
      '/v1/admin/gpts',
      {
        config,
        schema: {
          ...common,
          operationId: 'adminCreateGpt',
          summary: 'Create a GPT (tenant)',
          body: CreateGptBody,
          response: { 201: Gpt, ...problemResponses(401, 409, 422) },
        },
      },
      async (request, reply) => {
        const gpt = await gpts.createGpt(request.body)
        return reply.code(201).header('location', `/v1/admin/gpts/${gpt.id}`).send(gpt)
      },
    )

    app.get(
      '/v1/admin/gpts',
      {
        config,
        schema: {
          ...common,
          operationId: 'adminListGpts',
          summary: 'List GPTs',
          querystring: Type.Object(pageQuerySchema({ maxPageSize }), { additionalProperties: false }),
          response: { 200: GptList, ...problemResponses(400, 401, 422) },
        },
      },
      async (request, reply) => {
        const page = await gpts.listGpts(request.query)
        setNextLink(request, reply, publicUrl, page.nextCursor)
        return { gpts: page.items, next_cursor: page.nextCursor, has_more: page.hasMore }
      },
    )

    app.get(
      '/v1/admin/gpts/:gpt_id',
      {
        config,
        schema: {
          ...common,
          operationId: 'adminGetGpt',
          summary: 'Read a GPT',
          params: GptParams,
          response: { 200: Gpt, ...problemResponses(401, 404, 422) },
        },
      },
      async (request) => gpts.getGpt(request.params.gpt_id),
    )

    app.patch(
      '/v1/admin/gpts/:gpt_id',
      {
        config,
        schema: {
          ...common,
          operationId: 'adminUpdateGpt',
          summary: 'Change a GPT (name, description, retention, what its Action spec offers)',
          description: UPDATE_DESCRIPTION,
          params: GptParams,
          body: UpdateGptBody,
          response: { 200: Gpt, ...problemResponses(401, 404, 422) },
        },
      },
      async (request) => gpts.updateGpt(request.params.gpt_id, request.body),
    )

    app.delete(
      '/v1/admin/gpts/:gpt_id',
      {
        config,
        schema: {
          ...common,
          operationId: 'adminDeleteGpt',
          summary: 'Delete a GPT with all its keys and data',
          params: GptParams,
          response: { 204: Type.Null(), ...problemResponses(401, 404, 422) },
        },
      },
      async (request, reply) => {
        await gpts.deleteGpt(request.params.gpt_id)
        return reply.code(204).send(null)
      },
    )
  }
}

/** Tenant routes (API key): the calling GPT itself; an account reads and changes its own GPTs here too. */
export function gptRoutes({ gpts }: Pick<Deps, 'gpts'>) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    app.get(
      '/v1/gpts/:gpt_id',
      {
        config: { accounts: true, endUsers: true },
        schema: {
          tags: ['gpts'],
          security: BEARER_SECURITY,
          operationId: 'getGpt',
          summary: 'Read the GPT this key belongs to (or a GPT of the calling account)',
          params: GptParams,
          response: { 200: Gpt, ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request) => gpts.getGpt(request.params.gpt_id, ownerOf(request)),
    )

    app.patch(
      '/v1/gpts/:gpt_id',
      {
        config: { access: 'key', scope: 'admin', accounts: true },
        schema: {
          tags: ['gpts'],
          security: BEARER_SECURITY,
          operationId: 'updateGpt',
          summary: 'Change this GPT (its admin key, or the account that owns it)',
          description: UPDATE_DESCRIPTION,
          params: GptParams,
          body: UpdateGptBody,
          response: { 200: Gpt, ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request) => gpts.updateGpt(request.params.gpt_id, request.body, ownerOf(request)),
    )
  }
}

/** Account routes: an account creates and lists its own GPTs. */
export function accountGptRoutes({ gpts, publicUrl, maxPageSize }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const common = { tags: ['gpts'], security: BEARER_SECURITY }
    const config = { access: 'account' as const }

    app.post(
      '/v1/gpts',
      {
        config,
        schema: {
          ...common,
          operationId: 'createGpt',
          summary: 'Create a GPT owned by the calling account',
          body: CreateGptBody,
          response: { 201: Gpt, ...problemResponses(401, 409, 422) },
        },
      },
      async (request, reply) => {
        const gpt = await gpts.createGpt(request.body, accountPrincipal(request).accountId)
        return reply.code(201).header('location', `/v1/gpts/${gpt.id}`).send(gpt)
      },
    )

    app.get(
      '/v1/gpts',
      {
        config,
        schema: {
          ...common,
          operationId: 'listGpts',
          summary: 'List the GPTs of the calling account',
          querystring: Type.Object(pageQuerySchema({ maxPageSize }), { additionalProperties: false }),
          response: { 200: GptList, ...problemResponses(400, 401, 422) },
        },
      },
      async (request, reply) => {
        const page = await gpts.listGpts(request.query, accountPrincipal(request).accountId)
        setNextLink(request, reply, publicUrl, page.nextCursor)
        return { gpts: page.items, next_cursor: page.nextCursor, has_more: page.hasMore }
      },
    )
  }
}

/** The account a GPT must belong to on a route open to accounts; null for a GPT key (the auth hook checked its GPT). */
export function ownerOf(request: FastifyRequest): string | null {
  return request.principal?.kind === 'account' ? request.principal.accountId : null
}
