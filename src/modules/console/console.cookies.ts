import type { FastifyReply, FastifyRequest } from 'fastify'
import { ERR } from '../../platform/errors.js'

export const COOKIE = 'agentstore_console'

/** HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), and only under /admin. */
export function setSessionCookie(reply: FastifyReply, token: string, maxAgeSeconds: number, secure: boolean): void {
  reply.header('set-cookie', `${COOKIE}=${token}; Path=/admin; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`)
}

export function clearSessionCookie(reply: FastifyReply, secure: boolean): void {
  reply.header('set-cookie', `${COOKIE}=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`)
}

export function sessionCookie(request: FastifyRequest): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=')
    if (key === COOKIE) return rest.join('=') || undefined
  }
  return undefined
}

/**
 * A write from another origin is refused whatever it carries: browsers send Origin on every
 * cross-origin request and on same-origin writes, so a present one must be ours.
 */
export function checkOrigin(request: FastifyRequest, publicOrigin: string): void {
  const origin = request.headers.origin
  if (origin !== undefined && origin !== publicOrigin) throw ERR.forbidden('This console request came from another origin.')
}
