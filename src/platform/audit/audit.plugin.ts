import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { auditContext, type AuditEvent, type AuditSink } from './audit.js'
import { sanitizeRequest } from './sanitize.js'

const MAX_TARGET = 200

/** The path's ids but the tenant's (a key, a document, a session...). */
function targets(params: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (typeof params !== 'object' || params === null) return out
  for (const [name, value] of Object.entries(params as Record<string, unknown>)) {
    if (name !== 'gpt_id' && typeof value === 'string') out[name] = value.slice(0, MAX_TARGET)
  }
  return out
}

function gptOf(request: FastifyRequest, status: number): string | null {
  const principal = request.principal
  // A key, an app's token and an owner naming its GPT each act in one GPT, whatever the path names (the compat paths name none).
  if (principal?.kind === 'key' || principal?.kind === 'token' || principal?.kind === 'owner') return principal.gptId
  const gptId = (request.params as { gpt_id?: unknown } | undefined)?.gpt_id
  if (typeof gptId !== 'string') return null
  // An account's refused request names a GPT that may be someone else's: it stays in the account's own log.
  return principal?.kind === 'account' && status >= 400 ? null : gptId
}

/** The audit row of an authenticated request; null for one that is not (public routes, unknown paths, bad credentials). */
export function requestEvent(request: FastifyRequest, reply: FastifyReply): AuditEvent | null {
  const principal = request.principal
  if (principal === null) return null
  const context = auditContext(request)
  return {
    gptId: gptOf(request, reply.statusCode),
    accountId: principal.kind === 'account' || principal.kind === 'owner' ? principal.accountId : null,
    principal: context.principal,
    // Every authenticated route declares one; a route added without it still shows by its template.
    action: request.routeOptions.schema?.operationId ?? `${request.method} ${request.routeOptions.url ?? ''}`,
    targets: targets(request.params),
    status: reply.statusCode,
    durationMs: Math.round(reply.elapsedTime * 10) / 10,
    requestId: context.requestId,
    ip: context.ip,
    userAgent: context.userAgent,
    request: sanitizeRequest(request.query, request.body),
  }
}

/**
 * Records every authenticated request once its answer is sent: a push into the sink's buffer, never
 * a write on the request path. Failed logins and signups are public requests: the accounts service
 * records them as identity events.
 */
export const auditPlugin = fp<{ sink: AuditSink }>(
  async (app: FastifyInstance, { sink }) => {
    app.addHook('onResponse', (request, reply, done) => {
      const event = requestEvent(request, reply)
      if (event) sink.record(event)
      done()
    })
  },
  { name: 'audit' },
)
