import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { auditContext } from '../../platform/audit/audit.js'
import { consentPage, errorPage } from './consent.page.js'
import type { AuthorizeService, ConsentView, Query } from './oauth.authorize.js'
import { acceptForms } from './oauth.form.js'

const COOKIE = 'agentstore_consent'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const hidden = { hide: true }
const publicPage = { access: 'public' as const, ipBudget: true }

interface Deps {
  authorize: AuthorizeService
  /** Cookies are Secure when the service is served over https. */
  secureCookies: boolean
}

/** The authorization endpoint (RFC 6749 §3.1) and the consent page it shows. */
export function consentRoutes({ authorize, secureCookies }: Deps) {
  return async (app: FastifyInstance) => {
    acceptForms(app)

    // Each showing stores a consent request: anyone can ask for one, so it spends the client IP's budget.
    app.get('/oauth/authorize', { config: publicPage, schema: hidden }, async (request, reply) => {
      const outcome = await authorize.authorize(request.query as Query)
      if (outcome.kind === 'redirect') return reply.redirect(outcome.url, 302)
      if (outcome.kind === 'page-error') return html(reply, outcome.status, (nonce) => errorPage(outcome.message, nonce))
      setCsrfCookie(reply, outcome.view.consentId, outcome.csrf, secureCookies)
      return html(reply, 200, (nonce) => consentPage(outcome.view, outcome.csrf, nonce, null))
    })

    app.post('/oauth/authorize/:consent_id', { config: publicPage, schema: hidden }, async (request, reply) => {
      const { consent_id: consentId } = request.params as { consent_id: string }
      const form = formOf(request)
      if (!UUID.test(consentId) || form === null) return html(reply, 400, (nonce) => errorPage('This form is not one this service showed.', nonce))
      const outcome = await authorize.answer(consentId, form, cookie(request, `${COOKIE}_${consentId}`), auditContext(request))
      if (outcome.kind === 'redirect') {
        clearCsrfCookie(reply, consentId, secureCookies)
        return reply.redirect(outcome.url, 302)
      }
      if (outcome.kind === 'page-error') return html(reply, outcome.status, (nonce) => errorPage(outcome.message, nonce))
      const view: ConsentView | null = await authorize.pending(consentId)
      if (!view) return html(reply, 400, (nonce) => errorPage('This sign-in page has expired. Go back to the app and start again.', nonce))
      return html(reply, outcome.status, (nonce) => consentPage(view, form.csrf, nonce, outcome.message))
    })
  }
}

function formOf(request: FastifyRequest): { decision: string; email: string; password: string; csrf: string } | null {
  const body = request.body as Record<string, unknown> | undefined
  const field = (name: string) => (typeof body?.[name] === 'string' ? (body[name] as string) : null)
  const [decision, csrf] = [field('decision'), field('csrf')]
  if (decision === null || csrf === null) return null
  return { decision, csrf, email: (field('email') ?? '').trim(), password: field('password') ?? '' }
}

/**
 * An HTML page under a CSP that allows nothing but its own inline style (by nonce) and forms posted
 * back here; it may not be framed (clickjacking, RFC 6749 §10.13).
 */
function html(reply: FastifyReply, status: number, render: (nonce: string) => string) {
  const nonce = randomBytes(16).toString('base64')
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header(
      'content-security-policy',
      // form-action also governs where the answer's redirect may go: the client's redirect URI.
      `default-src 'none'; style-src 'nonce-${nonce}'; form-action 'self' https: http://127.0.0.1:* http://localhost:* http://[::1]:*; frame-ancestors 'none'; base-uri 'none'`,
    )
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .send(render(nonce))
}

/** One cookie per consent request, so that two sign-ins in two tabs do not spoil each other. */
function setCsrfCookie(reply: FastifyReply, consentId: string, value: string, secure: boolean) {
  reply.header('set-cookie', `${COOKIE}_${consentId}=${value}; Path=/oauth/authorize; Max-Age=600; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`)
}

function clearCsrfCookie(reply: FastifyReply, consentId: string, secure: boolean) {
  reply.header('set-cookie', `${COOKIE}_${consentId}=; Path=/oauth/authorize; Max-Age=0; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`)
}

function cookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=')
    if (key === name) return rest.join('=')
  }
  return undefined
}
