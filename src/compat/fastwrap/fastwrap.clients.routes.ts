import type { FastifyInstance, FastifyReply } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { auditContext } from '../../platform/audit/audit.js'
import { AppError, ErrorCode } from '../../platform/errors.js'
import { API_KEY_HEADER_SECURITY } from '../../platform/openapi.plugin.js'
import { Credentials, UpdateAccountBody } from '../../modules/accounts/accounts.schemas.js'
import type { AccountsService } from '../../modules/accounts/accounts.service.js'
import type { GptsService } from '../../modules/gpts/gpts.service.js'
import { callerId, fastWrapGpt, fastWrapSurface, toClient, translate } from './fastwrap.shapes.js'

interface Deps {
  accounts: AccountsService
  gpts: GptsService
}

/** Only the client's own routes are reached with X-API-Key; the house's public budget per IP applies to all. */
const keyed = { access: 'public' as const, ipBudget: true }
const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store').header('pragma', 'no-cache')

/** Signup (public) on the house accounts; a FastWrap client is an account, with its data in one GPT. */
function signupRoutes({ accounts, gpts }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    fastWrapSurface(instance, null)
    app.post(
      '/auth/signup',
      { config: keyed, schema: { tags: ['FastWrap (compat)'], operationId: 'fastWrapSignup', summary: 'Register a client: an account, its key and its GPT', body: Credentials } },
      async (request, reply) => {
        // Its answer for a taken email was a 400 naming no reason.
        const created = await accounts
          .signup(request.body, false, auditContext(request))
          .catch(translate([ErrorCode.Conflict], () => new AppError(ErrorCode.BadRequest, 'Failed to create account')))
        await fastWrapGpt(gpts, created.account.id)
        return noStore(reply).code(201).send({ message: 'Signup request received', data: toClient(created.account, created.key) })
      },
    )
  }
}

/** The calling client: one-field updates, key regeneration, soft delete. */
function meRoutes({ accounts }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    fastWrapSurface(instance, accounts)
    const common = { tags: ['FastWrap (compat)'], security: API_KEY_HEADER_SECURITY }

    app.patch(
      '/clients/me',
      {
        config: keyed,
        schema: {
          ...common,
          operationId: 'fastWrapUpdateClient',
          summary: 'Change the email or the password (one at a time; a password change also needs current_password)',
          body: Type.Object(UpdateAccountBody.properties, { additionalProperties: false }),
        },
      },
      async (request, reply) => {
        const { email, password } = request.body
        // FastWrap's own answers: neither field is a 404, both a 422; a taken email found no match (404).
        if (email === undefined && password === undefined) throw new AppError(ErrorCode.NotFound, 'No maching credentials')
        if (email !== undefined && password !== undefined) throw new AppError(ErrorCode.ValidationFailed, 'Malformed JSON')
        const principal = { kind: 'account' as const, accountId: callerId(request), sessionId: null }
        const account = await accounts
          .updateAccount(principal, request.body, auditContext(request))
          .catch(translate([ErrorCode.Conflict], () => new AppError(ErrorCode.NotFound, 'No maching credentials')))
        return reply.code(201).send({ message: 'Resource updated', data: toClient(account) })
      },
    )

    app.post(
      '/clients/me/regenerate-key',
      { config: keyed, schema: { ...common, operationId: 'fastWrapRegenerateKey', summary: 'A new key, shown once; the old one stops at once' } },
      async (request, reply) => {
        const { key } = await accounts.rotateKey(callerId(request), auditContext(request))
        return noStore(reply).code(201).send({ message: 'New key generated', api_key: key })
      },
    )

    app.delete(
      '/clients/me',
      { config: keyed, schema: { ...common, operationId: 'fastWrapDeleteClient', summary: 'Soft delete: the key stops, the data is kept until the retention ends' } },
      async (request, reply) => {
        await accounts.deleteAccount(callerId(request))
        return reply.code(204).send()
      },
    )
  }
}

export function fastWrapClientRoutes(deps: Deps) {
  return async (instance: FastifyInstance) => {
    await instance.register(signupRoutes(deps))
    await instance.register(meRoutes(deps))
  }
}
