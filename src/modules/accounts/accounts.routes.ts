import type { FastifyInstance, FastifyReply } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { auditContext } from '../../platform/audit/audit.js'
import { accountPrincipal } from '../../platform/auth/auth.plugin.js'
import type { SigningKeyStore } from '../../platform/auth/signing-keys.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { Account, AccountParams, Credentials, RefreshBody, RotatedKey, SignupResult, TokenPair, UpdateAccountBody } from './accounts.schemas.js'
import type { AccountsService } from './accounts.service.js'

/** Answers that carry credentials are never stored by a cache (RFC 6749 §5.1). */
const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store').header('pragma', 'no-cache')

/** Signup, login and refresh (public), and the calling account itself. */
export function accountRoutes({ accounts }: { accounts: AccountsService }) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const publicConfig = { access: 'public' as const, ipBudget: true }
    const accountConfig = { access: 'account' as const }
    const auth = { tags: ['accounts'] }
    const me = { tags: ['accounts'], security: BEARER_SECURITY }

    app.post(
      '/v1/auth/signup',
      {
        config: publicConfig,
        schema: {
          ...auth,
          operationId: 'signup',
          summary: 'Create an account and its first key (shown once)',
          body: Credentials,
          response: { 201: SignupResult, ...problemResponses(403, 409, 422) },
        },
      },
      async (request, reply) => {
        const created = await accounts.signup(request.body, false, auditContext(request))
        return noStore(reply).code(201).header('location', '/v1/accounts/me').send(created)
      },
    )

    app.post(
      '/v1/auth/login',
      {
        config: publicConfig,
        schema: {
          ...auth,
          operationId: 'login',
          summary: 'Log in: an access token (JWT) and a one-time refresh token',
          body: Credentials,
          response: { 200: TokenPair, ...problemResponses(401, 422, 429) },
        },
      },
      async (request, reply) => noStore(reply).send(await accounts.sessions.login(request.body, auditContext(request))),
    )

    app.post(
      '/v1/auth/refresh',
      {
        config: publicConfig,
        schema: {
          ...auth,
          operationId: 'refreshToken',
          summary: 'Exchange a refresh token for a new pair (reusing one ends its session)',
          body: RefreshBody,
          response: { 200: TokenPair, ...problemResponses(401, 422) },
        },
      },
      async (request, reply) => noStore(reply).send(await accounts.sessions.refresh(request.body.refresh_token, auditContext(request))),
    )

    app.get(
      '/v1/accounts/me',
      {
        config: accountConfig,
        schema: { ...me, operationId: 'getAccount', summary: 'The calling account', response: { 200: Account, ...problemResponses(401) } },
      },
      async (request) => accounts.getAccount(accountPrincipal(request).accountId),
    )

    app.patch(
      '/v1/accounts/me',
      {
        config: accountConfig,
        schema: {
          ...me,
          operationId: 'updateAccount',
          summary: 'Change the email or the password (a new password ends every other session)',
          body: UpdateAccountBody,
          response: { 200: Account, ...problemResponses(401, 403, 409, 422, 429) },
        },
      },
      async (request) => accounts.updateAccount(accountPrincipal(request), request.body, auditContext(request)),
    )

    app.delete(
      '/v1/accounts/me',
      {
        config: accountConfig,
        schema: {
          ...me,
          operationId: 'deleteAccount',
          summary: 'Delete the account: its credentials stop at once, its GPTs are hidden, then purged after the retention period',
          response: { 204: Type.Null(), ...problemResponses(401, 404) },
        },
      },
      async (request, reply) => {
        await accounts.deleteAccount(accountPrincipal(request).accountId)
        return reply.code(204).send(null)
      },
    )

    app.post(
      '/v1/accounts/me/keys/rotate',
      {
        config: accountConfig,
        schema: {
          ...me,
          operationId: 'rotateAccountKey',
          summary: 'A new account key (shown once); the old one stops at once',
          response: { 200: RotatedKey, ...problemResponses(401) },
        },
      },
      async (request, reply) => noStore(reply).send(await accounts.rotateKey(accountPrincipal(request).accountId, auditContext(request))),
    )
  }
}

/** POST /v1/admin/accounts/{id}/restore: the operator brings back a deleted account before it is purged. */
export function adminAccountRoutes({ accounts }: { accounts: AccountsService }) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    app.post(
      '/v1/admin/accounts/:account_id/restore',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['admin'],
          security: BEARER_SECURITY,
          operationId: 'adminRestoreAccount',
          summary: 'Restore a deleted account with its GPTs',
          params: AccountParams,
          response: { 200: Account, ...problemResponses(401, 404, 409, 422) },
        },
      },
      async (request) => accounts.restoreAccount(request.params.account_id),
    )
  }
}

/** GET /.well-known/jwks.json: the public keys that verify access tokens. */
export function jwksRoutes({ signingKeys }: { signingKeys: SigningKeyStore }) {
  return async (instance: FastifyInstance) => {
    instance.get(
      '/.well-known/jwks.json',
      {
        config: { access: 'public' },
        schema: {
          tags: ['accounts'],
          operationId: 'getJwks',
          summary: 'The JSON Web Key Set that verifies access tokens',
          response: { 200: Type.Object({ keys: Type.Array(Type.Object({}, { additionalProperties: true })) }) },
        },
      },
      async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(await signingKeys.jwks()),
    )
  }
}
