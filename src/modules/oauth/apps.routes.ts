import type { FastifyContextConfig, FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { auditContext } from '../../platform/audit/audit.js'
import { keyPrincipal } from '../../platform/auth/auth.plugin.js'
import { pageQuerySchema, setNextLink } from '../../platform/http/pagination.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { ownerOf } from '../gpts/gpts.routes.js'
import { GptParams } from '../gpts/gpts.schemas.js'
import { App, AppGrantList, AppList, AppParams, CreateAppBody, CreatedApp, GrantParams, UpdateAppBody } from './apps.schemas.js'
import type { AppManager, AppsService } from './apps.service.js'

interface Deps {
  apps: AppsService
  publicUrl: string
  maxPageSize: number
}

/** The GPT's own admin key, or the account that owns it. */
function managerOf(request: FastifyRequest): AppManager {
  const owner = ownerOf(request)
  return { ownerAccountId: owner, gptId: owner === null ? keyPrincipal(request).gptId : null }
}

/** OAuth apps of a GPT and their sessions, for the GPT's admin key or its owner account. */
export function appRoutes({ apps, publicUrl, maxPageSize }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const config: FastifyContextConfig = { access: 'key', scope: 'admin', accounts: true }
    const common = { tags: ['apps'], security: BEARER_SECURITY }
    const page = Type.Object(pageQuerySchema({ maxPageSize }), { additionalProperties: false })

    app.post(
      '/v1/gpts/:gpt_id/apps',
      {
        config,
        schema: {
          ...common,
          operationId: 'createApp',
          summary: 'Register an OAuth app (its client_secret is shown once)',
          params: GptParams,
          body: CreateAppBody,
          response: { 201: CreatedApp, ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        const created = await apps.createApp(request.params.gpt_id, request.body, ownerOf(request), auditContext(request))
        return reply.code(201).header('location', `/v1/apps/${created.id}`).send(created)
      },
    )

    app.get(
      '/v1/gpts/:gpt_id/apps',
      {
        config,
        schema: {
          ...common,
          operationId: 'listApps',
          summary: 'List OAuth apps (never their secrets)',
          params: GptParams,
          querystring: page,
          response: { 200: AppList, ...problemResponses(400, 401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        const found = await apps.listApps(request.params.gpt_id, request.query, ownerOf(request))
        setNextLink(request, reply, publicUrl, found.nextCursor)
        return { apps: found.items, next_cursor: found.nextCursor, has_more: found.hasMore }
      },
    )

    app.get(
      '/v1/apps/:app_id',
      { config, schema: { ...common, operationId: 'getApp', summary: 'An OAuth app', params: AppParams, response: { 200: App, ...problemResponses(401, 403, 404, 422) } } },
      async (request) => apps.getApp(request.params.app_id, managerOf(request)),
    )

    app.patch(
      '/v1/apps/:app_id',
      {
        config,
        schema: {
          ...common,
          operationId: 'updateApp',
          summary: 'Change an OAuth app: name, redirect URIs, scopes, rate limit',
          params: AppParams,
          body: UpdateAppBody,
          response: { 200: App, ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request) => apps.updateApp(request.params.app_id, request.body, managerOf(request), auditContext(request)),
    )

    app.delete(
      '/v1/apps/:app_id',
      {
        config,
        schema: {
          ...common,
          operationId: 'deleteApp',
          summary: 'Delete an OAuth app: its tokens stop at once',
          params: AppParams,
          response: { 204: Type.Null(), ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        await apps.deleteApp(request.params.app_id, managerOf(request), auditContext(request))
        return reply.code(204).send(null)
      },
    )

    app.get(
      '/v1/apps/:app_id/grants',
      {
        config,
        schema: {
          ...common,
          operationId: 'listAppGrants',
          summary: "The app's live sessions: each end user's consent and its refresh tokens",
          params: AppParams,
          querystring: page,
          response: { 200: AppGrantList, ...problemResponses(400, 401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        const found = await apps.listGrants(request.params.app_id, request.query, managerOf(request))
        setNextLink(request, reply, publicUrl, found.nextCursor)
        return { grants: found.items, next_cursor: found.nextCursor, has_more: found.hasMore }
      },
    )

    app.delete(
      '/v1/apps/:app_id/grants/:grant_id',
      {
        config,
        schema: {
          ...common,
          operationId: 'revokeAppGrant',
          summary: 'End a session of the app: its refresh and access tokens stop at once',
          params: GrantParams,
          response: { 204: Type.Null(), ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        await apps.revokeGrant(request.params.app_id, request.params.grant_id, managerOf(request), auditContext(request))
        return reply.code(204).send(null)
      },
    )
  }
}
