import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Principal } from '../auth/principal.js'
import { ERR } from '../errors.js'
import type { RateLimitRule, RateLimitScope } from './rate-limit.rules.js'
import type { BucketState, RateLimitStore } from './rate-limit.store.js'

export interface RateLimitOptions {
  rules: RateLimitRule[]
  store: RateLimitStore
  /** Called when the store fails; the request is let through (fail open). */
  onStoreError: (error: unknown) => void
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A public route that still spends the client IP's budget (signup and login: each costs a password hash). */
    ipBudget?: boolean
  }
}

/**
 * Token buckets per client IP (before authentication, so that guessing keys costs budget), per API
 * key or account, and per API key or account for writes. Every answer carries the headers of the tightest bucket it used.
 */
/**
 * Whose budget a request spends: a key's; an account's (its key and its login sessions share one); an
 * app token's, per end user (or the app itself).
 */
function callerOf(principal: Principal | null): string | null {
  if (principal?.kind === 'key') return principal.keyId
  if (principal?.kind === 'account') return `account:${principal.accountId}`
  if (principal?.kind === 'owner') return principal.accountId === null ? null : `account:${principal.accountId}`
  if (principal?.kind === 'token') return `token:${principal.clientId}:${principal.endUserId ?? 'app'}`
  return null
}

export const rateLimitPlugin = fp<RateLimitOptions>(
  async (app: FastifyInstance, { rules, store, onStoreError }) => {
    const rule = (scope: RateLimitScope) => rules.find((candidate) => candidate.scope === scope)
    const ipRule = rule('ip')
    const keyRule = rule('key')
    const writeRule = rule('write')

    async function take(bucket: string, limitRule: RateLimitRule, reply: FastifyReply): Promise<void> {
      let state: BucketState
      try {
        state = await store.take(bucket, limitRule)
      } catch (error) {
        onStoreError(error)
        return
      }
      const tighter = reply.getHeader('ratelimit-remaining') === undefined || state.remaining < Number(reply.getHeader('ratelimit-remaining'))
      if (tighter || !state.allowed) {
        reply.header('ratelimit-limit', String(limitRule.limit))
        reply.header('ratelimit-remaining', String(state.remaining))
        reply.header('ratelimit-reset', String(Math.ceil(state.resetMs / 1000)))
      }
      if (!state.allowed) throw ERR.rateLimited(Math.max(1, Math.ceil(state.retryAfterMs / 1000)))
    }

    if (ipRule) {
      app.addHook('onRequest', async (request: FastifyRequest, reply) => {
        const config = request.routeOptions.config
        if (config.access === 'public' && !config.ipBudget && !request.is404) return
        await take(`ip:${request.ip}`, ipRule, reply)
      })
    }
    // After authentication (an onRequest hook), before the body is read.
    app.addHook('preParsing', async (request, reply) => {
      const principal = request.principal
      const caller = callerOf(principal)
      if (caller === null) return
      if (keyRule) await take(`key:${caller}`, keyRule, reply)
      if (writeRule && WRITE_METHODS.has(request.method)) await take(`write:${caller}`, writeRule, reply)
      // An app's own budget holds whatever RATE_LIMITS says: its owner set it for this app.
      if (principal?.kind === 'token' && principal.appRateLimitPerMinute !== null) {
        await take(`app:${principal.clientId}`, { scope: 'key', limit: principal.appRateLimitPerMinute, periodMs: 60_000 }, reply)
      }
    })
  },
  { name: 'rate-limit' },
)
