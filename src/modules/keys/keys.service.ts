import { randomBytes } from 'node:crypto'
import { identityEvent, OPERATOR_CONTEXT, type AuditContext, type AuditSink } from '../../platform/audit/audit.js'
import { issueApiKey, parseApiKey, secretMatches } from '../../platform/auth/api-key.js'
import type { Principal, Scope } from '../../platform/auth/principal.js'
import { parseDuration } from '../../platform/duration.js'
import { ERR } from '../../platform/errors.js'
import { timeIdAfter } from '../../platform/http/seek.js'
import { pageRequest, toPage, type Page, type SortOrder } from '../../platform/http/pagination.js'
import type { AgentsService } from '../agents/agents.service.js'
import type { GptsService } from '../gpts/gpts.service.js'
import type { KeyCache } from './key-cache.js'
import type { AuthKeyRow, KeyRow, KeysRepository } from './keys.repo.js'
import type { CreatedKeyView, CreateKeyInput, KeyView } from './keys.schemas.js'

/** Compared against when the id is unknown; no secret hashes to it. */
const UNKNOWN_KEY_HASH = randomBytes(32)

const iso = (date: Date | null) => (date === null ? null : date.toISOString())

export function toKeyView(row: KeyRow): KeyView {
  return {
    id: row.id,
    gpt_id: row.gpt_id,
    name: row.name,
    scopes: row.scopes,
    expires_at: iso(row.expires_at),
    revoked_at: iso(row.revoked_at),
    last_used_at: iso(row.last_used_at),
    agent_id: row.agent_id,
    created_at: row.created_at.toISOString(),
  }
}

export class KeysService {
  /** Keys whose last_used_at write is in flight, so that a burst of requests writes once. */
  private readonly touching = new Set<string>()

  constructor(
    private readonly repo: KeysRepository,
    private readonly gpts: GptsService,
    private readonly agents: AgentsService,
    private readonly cache: KeyCache,
    private readonly options: { defaultPageSize: number; keyTouchIntervalMs: number; onTouchError: (error: unknown) => void },
    private readonly audit: AuditSink,
  ) {}

  /**
   * `ownerAccountId`: the calling account, which must own the GPT (null: the operator or the GPT's own
   * key); `context`: who asked, for the audit log (the operator at the command line when not given).
   */
  async createKey(
    gptId: string,
    input: CreateKeyInput,
    ownerAccountId: string | null = null,
    context: AuditContext = OPERATOR_CONTEXT,
    now = new Date(),
  ): Promise<CreatedKeyView> {
    await this.gpts.getGpt(gptId, ownerAccountId)
    const expiresAt = resolveExpiry(input, now)
    if (input.agent_id !== undefined && (await this.agents.missingAgents(gptId, [input.agent_id])).length > 0) {
      throw ERR.validation('agent_id is not an agent of this GPT.', [{ pointer: '/agent_id', message: 'must be an agent of this GPT' }])
    }
    const issued = issueApiKey()
    const row = await this.repo.insertKey({
      id: issued.id,
      gpt_id: gptId,
      name: input.name ?? null,
      secret_hash: issued.secretHash,
      scopes: input.scopes ?? ['read', 'write'],
      expires_at: expiresAt,
      agent_id: input.agent_id ?? null,
    })
    const request = { name: row.name, scopes: row.scopes, expires_at: iso(row.expires_at), agent_id: row.agent_id }
    this.audit.record(identityEvent(context, { action: 'key.created', status: 201, gptId, accountId: ownerAccountId, targets: { key_id: row.id }, request }))
    return { ...toKeyView(row), key: issued.token }
  }

  async listKeys(gptId: string, query: { limit?: number; cursor?: string; order?: SortOrder }, ownerAccountId: string | null = null): Promise<Page<KeyView>> {
    await this.gpts.getGpt(gptId, ownerAccountId)
    const page = pageRequest(query, `keys:${gptId}`, { defaultPageSize: this.options.defaultPageSize, order: 'asc' })
    const rows = await this.repo.listKeys(gptId, { ...page, after: timeIdAfter(page) })
    const result = toPage(rows, page, (row) => [row.created_at.toISOString(), row.id])
    return { ...result, items: result.items.map(toKeyView) }
  }

  /**
   * Revokes a key; with a GPT given, only a key of that GPT, with an account given, only a key of a
   * GPT it owns (any other key is "not found").
   */
  async revokeKey(gptId: string | null, keyId: string, ownerAccountId: string | null = null, context: AuditContext = OPERATOR_CONTEXT): Promise<KeyView> {
    const row = await this.repo.revokeKey(keyId, gptId, ownerAccountId)
    if (!row) throw ERR.notFound('API key', keyId)
    await this.cache.forgetKey(keyId)
    this.audit.record(identityEvent(context, { action: 'key.revoked', status: 204, gptId: row.gpt_id, accountId: ownerAccountId, targets: { key_id: row.id } }))
    return toKeyView(row)
  }

  /** Revokes the key a whole token names, when its secret matches (a wrong secret is "not found"). */
  async revokeToken(token: string): Promise<KeyView> {
    const parsed = parseApiKey(token)
    const row = parsed ? await this.repo.findKey(parsed.id) : null
    if (!parsed || !row || !secretMatches(parsed.secret, row.secret_hash)) throw ERR.notFoundDetail('No API key matches this token.')
    return this.revokeKey(null, row.id)
  }

  /** Resolves a bearer token to its key, or explains in a 401 why it cannot be used. */
  async authenticate(token: string, now = new Date()): Promise<Extract<Principal, { kind: 'key' }>> {
    const parsed = parseApiKey(token)
    if (!parsed) throw ERR.unauthorized('The bearer token is not a valid API key.')
    const row = await this.findKey(parsed.id, now)
    // An unknown id costs the same hash and comparison as a wrong secret, so that timing does not tell
    // which ids exist.
    const matches = secretMatches(parsed.secret, row?.secret_hash ?? UNKNOWN_KEY_HASH)
    // A key of a GPT whose owner account is deleted answers like an unknown one.
    if (!row || !matches || row.gpt_hidden) throw ERR.unauthorized('The API key is not valid.')
    if (row.revoked_at !== null) throw ERR.unauthorized('The API key has been revoked.')
    if (row.expires_at !== null && row.expires_at <= now) throw ERR.unauthorized('The API key has expired.')
    this.touch(row, now)
    return { kind: 'key', keyId: row.id, gptId: row.gpt_id, scopes: row.scopes as Scope[], agentId: row.agent_id }
  }

  private async findKey(keyId: string, now: Date): Promise<AuthKeyRow | null> {
    const cached = this.cache.get(keyId, now.getTime())
    if (cached !== undefined) return cached
    const row = await this.repo.findKey(keyId)
    this.cache.set(keyId, row, now.getTime())
    return row
  }

  /** Keeps last_used_at within keyTouchIntervalMs of the truth without a write per request. */
  private touch(row: AuthKeyRow, now: Date): void {
    const stale = row.last_used_at === null || now.getTime() - row.last_used_at.getTime() >= this.options.keyTouchIntervalMs
    if (!stale || this.touching.has(row.id)) return
    this.touching.add(row.id)
    this.repo
      .touchKey(row.id)
      .then(() => this.cache.markUsed(row.id, now))
      .catch(this.options.onTouchError)
      .finally(() => this.touching.delete(row.id))
  }
}

function resolveExpiry(input: CreateKeyInput, now: Date): Date | null {
  if (input.expires_in !== undefined && input.expires_at !== undefined) {
    throw ERR.validation('Give expires_in or expires_at, not both.', [
      { pointer: '/expires_at', message: 'must not be given together with expires_in' },
    ])
  }
  if (input.expires_in !== undefined) {
    const ms = parseDuration(input.expires_in)
    if (ms === null) throw ERR.validation('expires_in is not a duration.', [{ pointer: '/expires_in', message: 'must be like 30d, 12h or 2w' }])
    return new Date(now.getTime() + ms)
  }
  if (input.expires_at !== undefined) {
    const at = new Date(input.expires_at)
    if (Number.isNaN(at.getTime()) || at <= now) {
      throw ERR.validation('expires_at must be in the future.', [{ pointer: '/expires_at', message: 'must be a future RFC 3339 time' }])
    }
    return at
  }
  return null
}
