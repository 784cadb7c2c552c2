import { randomBytes } from 'node:crypto'
import { uuidv7 } from 'uuidv7'
import { identityEvent, type AuditContext, type AuditSink } from '../../platform/audit/audit.js'
import { hashSecret } from '../../platform/auth/api-key.js'
import { ERR, type FieldError } from '../../platform/errors.js'
import { pageRequest, toPage, type Page, type SortOrder } from '../../platform/http/pagination.js'
import { timeIdAfter } from '../../platform/http/seek.js'
import type { GptsService } from '../gpts/gpts.service.js'
import type { AppRow, AppsRepository } from './apps.repo.js'
import type { AppGrantView, AppView, CreateAppInput, CreatedAppView, UpdateAppInput } from './apps.schemas.js'
import type { OAuthTokenCache } from './oauth.token-cache.js'
import type { GrantRow, OAuthRepository } from './oauth.repo.js'
import type { OAuthTokensService } from './oauth.tokens.service.js'

type PageQuery = { limit?: number; cursor?: string; order?: SortOrder }
/** Who manages apps: the GPT's own admin key (gptId), its owner account (ownerAccountId), or the operator (neither). */
export interface AppManager {
  gptId: string | null
  ownerAccountId: string | null
}

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost'])

/** OAuth apps registered on a GPT, and their sessions (grants). */
export class AppsService {
  constructor(
    private readonly repo: AppsRepository,
    private readonly oauth: OAuthRepository,
    private readonly gpts: GptsService,
    private readonly cache: OAuthTokenCache,
    private readonly grants: OAuthTokensService,
    private readonly options: { defaultPageSize: number },
    private readonly audit: AuditSink,
  ) {}

  async createApp(gptId: string, input: CreateAppInput, ownerAccountId: string | null, context: AuditContext): Promise<CreatedAppView> {
    await this.gpts.getGpt(gptId, ownerAccountId)
    checkRedirectUris(input.redirect_uris)
    const type = input.type ?? 'confidential'
    const secret = type === 'confidential' ? `as_${randomBytes(32).toString('base64url')}` : null
    const row = await this.repo.insertApp({
      id: uuidv7(),
      gpt_id: gptId,
      name: input.name,
      client_id: `app_${randomBytes(16).toString('hex')}`,
      secret_hash: secret === null ? null : hashSecret(secret),
      type,
      redirect_uris: input.redirect_uris,
      scopes: input.scopes ?? ['read', 'write'],
      rate_limit_per_minute: input.rate_limit_per_minute ?? null,
    })
    const request = { name: row.name, type, redirect_uris: row.redirect_uris, scopes: row.scopes }
    this.audit.record(identityEvent(context, { action: 'app.created', status: 201, gptId, accountId: ownerAccountId, targets: { app_id: row.id }, request }))
    return { ...toAppView(row), client_secret: secret }
  }

  async listApps(gptId: string, query: PageQuery, ownerAccountId: string | null): Promise<Page<AppView>> {
    await this.gpts.getGpt(gptId, ownerAccountId)
    const page = pageRequest(query, `apps:${gptId}`, { defaultPageSize: this.options.defaultPageSize, order: 'asc' })
    const rows = await this.repo.listApps(gptId, { ...page, after: timeIdAfter(page) })
    const result = toPage(rows, page, (row) => [row.created_at.toISOString(), row.id])
    return { ...result, items: result.items.map(toAppView) }
  }

  /** Whether the GPT has an OAuth app (its Action spec then declares OAuth). */
  hasApps(gptId: string): Promise<boolean> {
    return this.repo.hasApp(gptId)
  }

  /** The app of a client id, within the GPT (the app an access token was issued to). */
  async findAppByClientId(gptId: string, clientId: string): Promise<AppView | null> {
    const row = await this.repo.findByClientId(clientId)
    return row !== null && row.gpt_id === gptId ? toAppView(row) : null
  }

  async getApp(appId: string, manager: AppManager): Promise<AppView> {
    return toAppView(await this.find(appId, manager))
  }

  /** Renames the app or changes its redirect URIs, scopes or budget (its client_id and secret stay). */
  async updateApp(appId: string, input: UpdateAppInput, manager: AppManager, context: AuditContext): Promise<AppView> {
    const app = await this.find(appId, manager)
    if (input.redirect_uris) checkRedirectUris(input.redirect_uris)
    const row = await this.repo.updateApp(app.id, input)
    // The app's budget travels with its tokens' cached state.
    await this.cache.forgetApp(app.client_id)
    this.audit.record(identityEvent(context, { action: 'app.updated', status: 200, gptId: app.gpt_id, accountId: manager.ownerAccountId, targets: { app_id: app.id }, request: input }))
    return toAppView(row)
  }

  /** Deletes the app with every grant and token it has: its access tokens stop at once. */
  async deleteApp(appId: string, manager: AppManager, context: AuditContext): Promise<void> {
    const app = await this.find(appId, manager)
    await this.repo.deleteApp(app.id)
    await this.cache.forgetApp(app.client_id)
    this.audit.record(identityEvent(context, { action: 'app.deleted', status: 204, gptId: app.gpt_id, accountId: manager.ownerAccountId, targets: { app_id: app.id } }))
  }

  async listGrants(appId: string, query: PageQuery, manager: AppManager): Promise<Page<AppGrantView>> {
    const app = await this.find(appId, manager)
    const page = pageRequest(query, `grants:${app.id}`, { defaultPageSize: this.options.defaultPageSize, order: 'desc' })
    const rows = await this.oauth.listGrants(app.id, { ...page, after: timeIdAfter(page) })
    const result = toPage(rows, page, (row) => [row.created_at.toISOString(), row.id])
    return { ...result, items: result.items.map(toGrantView) }
  }

  async revokeGrant(appId: string, grantId: string, manager: AppManager, context: AuditContext): Promise<void> {
    const app = await this.find(appId, manager)
    const grant = await this.oauth.findGrant(app.id, grantId)
    if (!grant) throw ERR.notFound('Grant', grantId)
    await this.grants.endGrant(grant.id)
    this.audit.record(identityEvent(context, { action: 'grant.revoked', status: 204, gptId: app.gpt_id, accountId: manager.ownerAccountId, targets: { app_id: app.id, grant_id: grant.id } }))
  }

  private async find(appId: string, manager: AppManager): Promise<AppRow> {
    const app = await this.repo.findApp(appId, manager.gptId, manager.ownerAccountId)
    if (!app) throw ERR.notFound('App', appId)
    return app
  }
}

function checkRedirectUris(uris: string[]): void {
  const problems = uris.flatMap((uri, index) => redirectUriProblems(uri, `/redirect_uris/${index}`))
  if (problems.length > 0) throw ERR.validation('Some redirect URIs cannot be used.', problems)
}

/** OAuth 2.1 §2.3.1 and §7.5.1: exact URIs, https or a loopback http address, never a fragment. */
export function redirectUriProblems(uri: string, pointer: string): FieldError[] {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return [{ pointer, message: 'must be an absolute URI' }]
  }
  if (url.hash !== '' || uri.includes('#')) return [{ pointer, message: 'must not contain a fragment (#)' }]
  if (url.username !== '' || url.password !== '') return [{ pointer, message: 'must not contain a user name or password' }]
  if (url.protocol === 'https:') return []
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return []
  return [{ pointer, message: 'must use https (http only on 127.0.0.1, [::1] or localhost)' }]
}

function toAppView(row: AppRow): AppView {
  return {
    id: row.id,
    gpt_id: row.gpt_id,
    name: row.name,
    client_id: row.client_id,
    type: row.type,
    redirect_uris: row.redirect_uris,
    scopes: row.scopes,
    rate_limit_per_minute: row.rate_limit_per_minute,
    created_at: row.created_at.toISOString(),
    last_used_at: row.last_used_at?.toISOString() ?? null,
  }
}

function toGrantView(row: GrantRow): AppGrantView {
  return {
    id: row.id,
    end_user_id: row.end_user_id,
    scopes: row.scopes,
    resource: row.resource,
    created_at: row.created_at.toISOString(),
    last_used_at: row.last_used_at?.toISOString() ?? null,
    expires_at: row.expires_at.toISOString(),
  }
}
