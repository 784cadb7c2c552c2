import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { accountPrincipal } from '../../platform/auth/auth.plugin.js'
import { AppError, ErrorCode } from '../../platform/errors.js'
import { compatAppError, fastApiValidationItems } from '../fastapi-errors.js'
import type { AccountView } from '../../modules/accounts/accounts.schemas.js'
import type { AccountsService } from '../../modules/accounts/accounts.service.js'
import type { CharacterView } from '../../modules/characters/characters.schemas.js'
import type { GptsService } from '../../modules/gpts/gpts.service.js'

/** FastWrap's data lived per client: here, in one GPT of the account, named after it (so two requests never make two). */
export const fastWrapGptId = (accountId: string) => `fastwrap-${accountId}`

/** The account's FastWrap GPT, made on first use for accounts that signed up through the house API. */
export async function fastWrapGpt(gpts: GptsService, accountId: string): Promise<string> {
  const id = fastWrapGptId(accountId)
  try {
    return (await gpts.getGpt(id, accountId)).id
  } catch (error) {
    if (!(error instanceof AppError && error.code === ErrorCode.NotFound)) throw error
  }
  try {
    return (await gpts.createGpt({ id, name: 'FastWrap' }, accountId)).id
  } catch (error) {
    // Another request made it meanwhile.
    if (error instanceof AppError && error.code === ErrorCode.Conflict) return (await gpts.getGpt(id, accountId)).id
    throw error
  }
}

/** A FastWrap client: the account, its key when one was just issued, and the flags its clients read. */
export function toClient(account: AccountView, apiKey?: string) {
  return {
    id: account.id,
    email: account.email,
    ...(apiKey === undefined ? {} : { api_key: apiKey }),
    created_at: account.created_at,
    deleted_at: account.deleted_at,
    is_active: account.deleted_at === null,
  }
}

/** A FastWrap character: its client is the owning account; `ttl` is not kept by the house (always null). */
export function toCharacter(character: CharacterView, accountId: string) {
  return { id: character.id, client_id: accountId, agent_role: character.agent_role, ttl: null, deleted_at: null }
}

/** The house wants a character name; FastWrap characters had none: the start of the system prompt stands in. */
export const characterName = (agentRole: string) => agentRole.trim().split('\n')[0]!.slice(0, 200) || 'FastWrap character'

/**
 * FastWrap's X-API-Key: the account key (`ak_…`) from signup or regenerate-key. A missing header was
 * FastAPI's 422; a key that is not a live account key (a GPT key, a login token, a revoked key) is 401.
 */
export function fastWrapAuth(accounts: AccountsService) {
  return async (request: FastifyRequest) => {
    const header = request.headers['x-api-key']
    const token = Array.isArray(header) ? header[0] : header
    if (token === undefined) {
      throw new AppError(ErrorCode.ValidationFailed, 'missing', { errors: [{ pointer: '/x-api-key', location: 'headers', message: 'Field required' }] })
    }
    const account = await accounts.authenticate(token).catch((error: unknown) => {
      if (error instanceof AppError && error.status === 401) return null
      throw error
    })
    if (!account || account.sessionId !== null) throw new AppError(ErrorCode.Unauthorized, 'Invalid API key')
    request.principal = account
  }
}

export const callerId = (request: FastifyRequest) => accountPrincipal(request).accountId

/** FastWrap answered errors the FastAPI way: `{"detail": …}` as application/json, invalid input a 422 list. */
export function sendFastWrapError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const appError = compatAppError(error)
  const { headers, errors } = appError.extra
  if (appError.status >= 500) request.log.error({ err: error }, 'request failed')
  reply.type('application/json')
  if (headers) reply.headers(headers)
  switch (appError.code) {
    case ErrorCode.ValidationFailed:
      // Its own 422s (such as both fields in one update) carried a sentence, pydantic's a list.
      return reply.code(422).send({ detail: errors ? fastApiValidationItems(errors) : appError.detail })
    case ErrorCode.MalformedJson:
      return reply.code(422).send({ detail: [{ type: 'json_invalid', loc: ['body'], msg: 'JSON decode error' }] })
    default:
      return reply.code(appError.status).send({ detail: appError.detail })
  }
}

/** The error answers and the X-API-Key check for the routes of one FastWrap plugin. */
export function fastWrapSurface(instance: FastifyInstance, accounts: AccountsService | null): void {
  instance.setErrorHandler(sendFastWrapError)
  if (accounts) instance.addHook('onRequest', fastWrapAuth(accounts))
}

/** Rethrows a house NotFound (or the codes given) as FastWrap's own answer. */
export function translate(codes: ErrorCode[], make: () => AppError) {
  return (error: unknown): never => {
    if (error instanceof AppError && codes.includes(error.code)) throw make()
    throw error
  }
}
