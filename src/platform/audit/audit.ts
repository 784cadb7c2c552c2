import type { FastifyRequest } from 'fastify'
import type { Principal } from '../auth/principal.js'
import type { JsonValue } from '../db/tables.js'

/** Who acted, as the audit log names it: `anonymous` for a signup or a failed login. */
export interface AuditPrincipal {
  kind: 'admin' | 'key' | 'account' | 'app' | 'end_user' | 'anonymous'
  id: string | null
}

/** Where an identity event came from: the caller, and the request when there is one (the CLI has none). */
export interface AuditContext {
  principal: AuditPrincipal
  requestId: string | null
  ip: string | null
  userAgent: string | null
}

/** One row of the audit log, before it is stored. */
export interface AuditEvent {
  gptId: string | null
  accountId: string | null
  principal: AuditPrincipal
  action: string
  targets: Record<string, string>
  status: number
  durationMs: number | null
  requestId: string | null
  ip: string | null
  userAgent: string | null
  /** Already sanitized (see sanitizeRequest). */
  request: JsonValue | null
}

/** Where audit rows go; record() never blocks and never throws (rows are written later, in batches). */
export interface AuditSink {
  record(event: AuditEvent): void
}

/** A sink that keeps nothing (AUDIT=off, and services built without one). */
export const NO_AUDIT: AuditSink = { record() {} }

/** The operator at the command line: no request, no address. */
export const OPERATOR_CONTEXT: AuditContext = { principal: { kind: 'admin', id: null }, requestId: null, ip: null, userAgent: null }

export function auditPrincipal(principal: Principal | null): AuditPrincipal {
  if (principal === null) return { kind: 'anonymous', id: null }
  if (principal.kind === 'key') return { kind: 'key', id: principal.keyId }
  if (principal.kind === 'account') return { kind: 'account', id: principal.accountId }
  if (principal.kind === 'owner') return principal.accountId === null ? { kind: 'admin', id: null } : { kind: 'account', id: principal.accountId }
  if (principal.kind === 'token') return principal.endUserId === null ? { kind: 'app', id: principal.clientId } : { kind: 'end_user', id: principal.endUserId }
  return { kind: 'admin', id: null }
}

const MAX_USER_AGENT = 512

/** The caller and request of an identity event recorded by a service during this request. */
export function auditContext(request: FastifyRequest): AuditContext {
  const agent = request.headers['user-agent']
  return {
    principal: auditPrincipal(request.principal),
    requestId: request.id,
    ip: request.ip,
    userAgent: typeof agent === 'string' ? agent.slice(0, MAX_USER_AGENT) : null,
  }
}

/** An identity event of a service: the context's caller and request, with what happened. */
export function identityEvent(
  context: AuditContext,
  event: {
    action: string
    status: number
    gptId?: string | null
    accountId?: string | null
    /** Who acted when the context does not know yet (the account a login proved). */
    principal?: AuditPrincipal
    targets?: Record<string, string>
    request?: JsonValue | null
  },
): AuditEvent {
  return {
    gptId: event.gptId ?? null,
    accountId: event.accountId ?? null,
    principal: event.principal ?? context.principal,
    action: event.action,
    targets: event.targets ?? {},
    status: event.status,
    durationMs: null,
    requestId: context.requestId,
    ip: context.ip,
    userAgent: context.userAgent,
    request: event.request ?? null,
  }
}
