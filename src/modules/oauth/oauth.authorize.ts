import { createHash, randomBytes } from 'node:crypto'
import { uuidv7 } from 'uuidv7'
import { identityEvent, type AuditContext, type AuditSink } from '../../platform/audit/audit.js'
import { hashSecret, tokensEqual } from '../../platform/auth/api-key.js'
import { AppError } from '../../platform/errors.js'
import type { GptsService } from '../gpts/gpts.service.js'
import type { AppRow, AppsRepository } from './apps.repo.js'
import type { EndUserRow } from './end-users.repo.js'
import type { EndUsersService } from './end-users.service.js'
import type { OAuthErrorCode } from './oauth.errors.js'
import type { OAuthRepository } from './oauth.repo.js'
import { END_USER_SCOPES, parseScope, type OAuthResources } from './oauth.resources.js'

const CONSENT_TTL_MS = 10 * 60_000
/** RFC 6749 §4.1.2 recommends at most 10 minutes; a client exchanges its code within seconds. */
const CODE_TTL_MS = 60_000
/** RFC 7636 §4.2: base64url(SHA-256(verifier)) is 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/

export type Query = Record<string, string | string[] | undefined>

/** What the consent request stores between showing the page and the end user's answer. */
interface PendingRequest {
  [name: string]: string
  client_id: string
  redirect_uri: string
  redirect_given: 'yes' | 'no'
  scope: string
  state: string
  code_challenge: string
  resource: string
}

export interface ConsentView {
  consentId: string
  appName: string
  gptName: string
  scopes: string[]
}

export type AuthorizeOutcome =
  /** Shown, never redirected: the client or its redirect URI cannot be trusted (RFC 6749 §4.1.2.1). */
  | { kind: 'page-error'; status: number; message: string }
  | { kind: 'redirect'; url: string }
  | { kind: 'consent'; view: ConsentView; csrf: string }

/** The answer to a consent form: where to go, or the page again with what went wrong. */
export type AnswerOutcome = Exclude<AuthorizeOutcome, { kind: 'consent' }> | { kind: 'retry'; status: number; message: string }

export interface ConsentAnswer {
  decision: string
  email: string
  password: string
  csrf: string
}

/** The authorization endpoint (RFC 6749 §4.1.1 with PKCE, RFC 7636) and its consent page. */
export class AuthorizeService {
  constructor(
    private readonly apps: AppsRepository,
    private readonly repo: OAuthRepository,
    private readonly gpts: GptsService,
    private readonly endUsers: EndUsersService,
    private readonly resources: OAuthResources,
    private readonly audit: AuditSink,
  ) {}

  async authorize(query: Query): Promise<AuthorizeOutcome> {
    const clientId = query.client_id
    if (typeof clientId !== 'string' || clientId === '') return pageError(400, 'The request names no app (client_id is missing or repeated).')
    const app = await this.apps.findByClientId(clientId)
    if (!app) return pageError(400, 'No app has this client_id.')
    const givenRedirect = query.redirect_uri
    if (Array.isArray(givenRedirect)) return pageError(400, 'redirect_uri is repeated.')
    if (givenRedirect === undefined && app.redirect_uris.length !== 1) return pageError(400, 'This app has several redirect URIs: the request must name one (redirect_uri).')
    const redirectUri = givenRedirect ?? app.redirect_uris[0]!
    if (!app.redirect_uris.includes(redirectUri)) return pageError(400, 'The redirect_uri is not one this app registered.')

    const state = typeof query.state === 'string' ? query.state : undefined
    const fail = (error: OAuthErrorCode, description: string) => ({ kind: 'redirect' as const, url: this.redirect(redirectUri, { error, error_description: description, state }) })
    const repeated = Object.entries(query).find(([, value]) => Array.isArray(value))
    if (repeated) return fail('invalid_request', `The parameter ${repeated[0]} is repeated.`)
    if (query.response_type === undefined) return fail('invalid_request', 'response_type is missing.')
    if (query.response_type !== 'code') return fail('unsupported_response_type', 'Only response_type=code is supported.')
    const scopes = grantableScopes(app, query.scope as string | undefined)
    if (typeof scopes === 'string') return fail('invalid_scope', scopes)
    const challenge = query.code_challenge as string | undefined
    const method = query.code_challenge_method as string | undefined
    if (method !== undefined && method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256.')
    if (challenge === undefined && method !== undefined) return fail('invalid_request', 'code_challenge is missing.')
    // RFC 7636 §4.3: a challenge without a method is a plain one, which is refused like an explicit plain.
    if (challenge !== undefined && method === undefined) return fail('invalid_request', 'code_challenge_method must be S256 (without it, the challenge is plain).')
    if (challenge !== undefined && !S256_CHALLENGE.test(challenge)) return fail('invalid_request', 'code_challenge must be 43 base64url characters (S256).')
    if (challenge === undefined && app.type === 'public') return fail('invalid_request', 'A public app must use PKCE: send code_challenge with code_challenge_method=S256.')
    const resource = (query.resource as string | undefined) ?? this.resources.api
    if (resource !== this.resources.api && resource !== this.resources.mcp) return fail('invalid_target', `resource must be ${this.resources.api} or ${this.resources.mcp}.`)

    const csrf = randomBytes(32).toString('base64url')
    const request: PendingRequest = {
      client_id: app.client_id,
      redirect_uri: redirectUri,
      redirect_given: givenRedirect === undefined ? 'no' : 'yes',
      scope: scopes.join(' '),
      state: state ?? '',
      code_challenge: challenge ?? '',
      resource,
    }
    const consentId = uuidv7()
    await this.repo.insertConsent({ id: consentId, app_id: app.id, request: JSON.stringify(request), csrf_hash: hashSecret(csrf), expires_at: new Date(Date.now() + CONSENT_TTL_MS) })
    return { kind: 'consent', csrf, view: await this.view(consentId, app, scopes) }
  }

  /** The consent page of a pending request, shown again (after a failed sign-in). */
  async pending(consentId: string): Promise<ConsentView | null> {
    const consent = await this.repo.findConsent(consentId)
    const app = consent ? await this.apps.findByClientId(consent.request.client_id!) : null
    if (!consent || !app) return null
    return this.view(consentId, app, parseScope(consent.request.scope!))
  }

  /**
   * The end user's answer. `cookieCsrf` is the token the page set as a cookie: the form must carry the
   * same one, and it must be the one this request was made with (CSRF, RFC 6749 §10.12).
   */
  async answer(consentId: string, answer: ConsentAnswer, cookieCsrf: string | undefined, context: AuditContext): Promise<AnswerOutcome> {
    const consent = await this.repo.findConsent(consentId)
    if (!consent) return pageError(400, 'This sign-in page has expired. Go back to the app and start again.')
    const csrfOk = cookieCsrf !== undefined && tokensEqual(answer.csrf, cookieCsrf) && hashSecret(answer.csrf).equals(consent.csrf_hash)
    if (!csrfOk) return pageError(403, 'This form could not be verified (it did not come from this page). Go back to the app and start again.')
    const request = consent.request as PendingRequest
    const app = await this.apps.findByClientId(request.client_id)
    if (!app) return pageError(400, 'This app no longer exists.')
    const state = request.state === '' ? undefined : request.state
    if (answer.decision === 'deny') {
      await this.repo.takeConsent(consentId)
      this.audit.record(identityEvent(context, { action: 'consent.denied', status: 302, gptId: app.gpt_id, targets: { app_id: app.id } }))
      return { kind: 'redirect', url: this.redirect(request.redirect_uri, { error: 'access_denied', error_description: 'The user denied the request.', state }) }
    }
    let user: EndUserRow
    try {
      if (answer.decision === 'signup') user = await this.endUsers.signup(app.gpt_id, answer.email, answer.password)
      else if (answer.decision === 'signin') user = await this.endUsers.login(app.gpt_id, answer.email, answer.password, context.ip ?? '')
      else return { kind: 'retry', status: 400, message: 'Choose to sign in, sign up or deny.' }
    } catch (error) {
      const failed = describeFailure(error)
      this.audit.record(identityEvent(context, { action: `endUser.${answer.decision}`, status: failed.status, gptId: app.gpt_id, request: { email: answer.email } }))
      return { kind: 'retry', ...failed }
    }
    if (!(await this.repo.takeConsent(consentId))) return pageError(400, 'This sign-in page was already answered. Go back to the app and start again.')
    const code = randomBytes(32).toString('base64url')
    await this.repo.insertCode({
      code_hash: hashSecret(code),
      app_id: app.id,
      end_user_id: user.id,
      redirect_uri: request.redirect_uri,
      redirect_given: request.redirect_given === 'yes',
      scopes: parseScope(request.scope),
      resource: request.resource,
      code_challenge: request.code_challenge === '' ? null : request.code_challenge,
      expires_at: new Date(Date.now() + CODE_TTL_MS),
    })
    const principal = { kind: 'end_user' as const, id: user.id }
    this.audit.record(identityEvent(context, { action: 'consent.approved', status: 302, gptId: app.gpt_id, principal, targets: { app_id: app.id, end_user_id: user.id }, request: { scope: request.scope } }))
    return { kind: 'redirect', url: this.redirect(request.redirect_uri, { code, state }) }
  }

  private async view(consentId: string, app: AppRow, scopes: string[]): Promise<ConsentView> {
    const gpt = await this.gpts.getGpt(app.gpt_id, null)
    return { consentId, appName: app.name, gptName: gpt.name, scopes }
  }

  /** The client's redirect URI with the answer added to its query, and `iss` (RFC 9207). */
  private redirect(uri: string, params: Record<string, string | undefined>): string {
    const url = new URL(uri)
    for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value)
    url.searchParams.set('iss', this.resources.issuer)
    return url.toString()
  }
}

/** The scopes of a request: what it asks for, each one the app's and grantable by an end user; by default all of those. */
function grantableScopes(app: AppRow, requested: string | undefined): string[] | string {
  const allowed = app.scopes.filter((scope) => END_USER_SCOPES.includes(scope as never))
  if (requested === undefined || requested.trim() === '') {
    return allowed.length > 0 ? allowed : 'This app has no scope an end user can grant (read or write).'
  }
  const asked = parseScope(requested)
  const refused = asked.filter((scope) => !allowed.includes(scope))
  return refused.length === 0 ? asked : `Not available to this app's users: ${refused.join(', ')}.`
}

function pageError(status: number, message: string): { kind: 'page-error'; status: number; message: string } {
  return { kind: 'page-error', status, message }
}

function describeFailure(error: unknown): { status: number; message: string } {
  if (!(error instanceof AppError)) throw error
  const list = (error.extra.errors ?? []).map((field) => `${field.pointer.slice(1)} ${field.message}`).join('; ')
  return { status: error.status, message: list === '' ? error.detail : `${error.detail} ${list}.` }
}

/** RFC 7636 §4.6: the S256 transformation. */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url')
}
