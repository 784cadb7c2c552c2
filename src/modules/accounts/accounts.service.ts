import { uuidv7 } from 'uuidv7'
import { identityEvent, OPERATOR_CONTEXT, type AuditContext, type AuditSink } from '../../platform/audit/audit.js'
import { issueApiKey, parseApiKey, secretMatches } from '../../platform/auth/api-key.js'
import { isJwt } from '../../platform/auth/jwt.js'
import { hashPassword, passwordProblems } from '../../platform/auth/password.js'
import type { AccountPrincipal } from '../../platform/auth/principal.js'
import { ERR } from '../../platform/errors.js'
import type { GptsService } from '../gpts/gpts.service.js'
import type { AccountAuthCache } from './account-auth-cache.js'
import type { AccountSessionsService } from './account-sessions.service.js'
import type { AccountKeyRow, AccountRow, AccountsRepository } from './accounts.repo.js'
import type { AccountView, CredentialsInput, SignupView, UpdateAccountInput } from './accounts.schemas.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function toAccountView(row: AccountRow): AccountView {
  return {
    id: row.id,
    email: row.email,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    deleted_at: row.deleted_at === null ? null : row.deleted_at.toISOString(),
  }
}

export interface AccountsOptions {
  signup: 'open' | 'closed'
  /** Drops the cached keys and app tokens of these GPTs everywhere (their owner was deleted or restored). */
  forgetGptKeys: (gptIds: string[]) => Promise<void>
  audit: AuditSink
}

/** Accounts: owners of GPTs, with a password to log in and one key of their own. */
export class AccountsService {
  constructor(
    private readonly repo: AccountsRepository,
    readonly sessions: AccountSessionsService,
    private readonly gpts: GptsService,
    private readonly cache: AccountAuthCache,
    private readonly options: AccountsOptions,
  ) {}

  /** Creates an account and its first key; `byOperator` passes even when signup is closed. */
  async signup(input: CredentialsInput, byOperator = false, context: AuditContext = OPERATOR_CONTEXT): Promise<SignupView> {
    if (!byOperator && this.options.signup === 'closed') throw ERR.forbidden('Signup is closed: the operator creates accounts.')
    checkPassword(input.password, '/password')
    const key = issueApiKey()
    const row = await this.repo.insertAccount(
      { id: uuidv7(), email: input.email, password_hash: await hashPassword(input.password) },
      { id: key.id, secret_hash: key.secretHash },
    )
    if (!row) throw ERR.conflict('An account with this email already exists.')
    const targets = { account_id: row.id, key_id: key.id }
    this.options.audit.record(identityEvent(context, { action: 'signup', status: 201, accountId: row.id, targets, request: { email: row.email } }))
    return { account: toAccountView(row), key: key.token }
  }

  async getAccount(accountId: string): Promise<AccountView> {
    const row = await this.repo.findById(accountId)
    if (!row || row.deleted_at !== null) throw ERR.notFound('Account', accountId)
    return toAccountView(row)
  }

  /** Changes the email or the password (exactly one); a new password ends every other session. */
  async updateAccount(caller: AccountPrincipal, input: UpdateAccountInput, context: AuditContext): Promise<AccountView> {
    const given = (['email', 'password'] as const).filter((field) => input[field] !== undefined)
    if (given.length !== 1) {
      const pointers = given.length === 0 ? ['/email', '/password'] : given.map((field) => `/${field}`)
      throw ERR.validation('Give exactly one of email or password.', pointers.map((pointer) => ({ pointer, message: 'exactly one of email or password must be given' })))
    }
    const current = await this.repo.findById(caller.accountId)
    if (!current || current.deleted_at !== null) throw ERR.notFound('Account', caller.accountId)
    if (input.email !== undefined) {
      const row = await this.repo.updateEmail(caller.accountId, input.email)
      if (!row) throw ERR.conflict('An account with this email already exists.')
      this.recordChange(context, 'account.email_changed', caller.accountId, { email: row.email })
      return toAccountView(row)
    }
    const password = input.password!
    if (input.current_password === undefined) {
      throw ERR.validation('Changing the password needs the current one.', [{ pointer: '/current_password', message: 'is required to change the password' }])
    }
    checkPassword(password, '/password')
    if (!(await this.sessions.checkPassword(current.email, current.password_hash, input.current_password, context.ip ?? ''))) {
      throw ERR.forbidden('current_password is not the password of this account.')
    }
    const row = await this.repo.updatePasswordHash(caller.accountId, await hashPassword(password))
    if (!row) throw ERR.notFound('Account', caller.accountId)
    await this.sessions.endOtherSessions(caller.accountId, caller.sessionId)
    this.recordChange(context, 'account.password_changed', caller.accountId, null)
    return toAccountView(row)
  }

  /** A new account key; the old one stops at once, in every process. */
  async rotateKey(accountId: string, context: AuditContext = OPERATOR_CONTEXT): Promise<{ key: string }> {
    const key = issueApiKey()
    await this.repo.replaceKey(accountId, { id: key.id, secret_hash: key.secretHash })
    await this.cache.forgetAccount(accountId)
    this.options.audit.record(identityEvent(context, { action: 'account.key_rotated', status: 200, accountId, targets: { account_id: accountId, key_id: key.id } }))
    return { key: key.token }
  }

  private recordChange(context: AuditContext, action: string, accountId: string, request: { email: string } | null): void {
    this.options.audit.record(identityEvent(context, { action, status: 200, accountId, targets: { account_id: accountId }, request }))
  }

  /** Soft delete: credentials stop at once and the account's GPTs are hidden until restore or purge. */
  async deleteAccount(accountId: string): Promise<void> {
    if (!(await this.repo.setDeleted(accountId, true))) throw ERR.notFound('Account', accountId)
    await this.sessions.endOtherSessions(accountId, null)
    await this.options.forgetGptKeys(await this.gpts.ownedGptIds(accountId))
  }

  /** Brings back a deleted account (by id or email) with its GPTs; its sessions stay ended. */
  async restoreAccount(idOrEmail: string): Promise<AccountView> {
    const found = UUID.test(idOrEmail) ? await this.repo.findById(idOrEmail) : await this.repo.findByEmail(idOrEmail)
    if (!found) throw ERR.notFound('Account', idOrEmail)
    if (found.deleted_at === null) throw ERR.conflict('This account is not deleted.')
    const row = await this.repo.setDeleted(found.id, false)
    if (!row) throw ERR.conflict('This account is not deleted.')
    await this.cache.forgetAccount(found.id)
    await this.options.forgetGptKeys(await this.gpts.ownedGptIds(found.id))
    return toAccountView(row)
  }

  /**
   * The account of an account key or access token; null when the token is neither (a GPT key, or
   * not a credential at all), so that the caller may try it as a GPT key.
   */
  async authenticate(token: string, now = Date.now()): Promise<AccountPrincipal | null> {
    const parsed = parseApiKey(token)
    if (!parsed) return isJwt(token) ? this.sessions.authenticate(token, now) : null
    const row = await this.findKey(parsed.id, now)
    if (!row) return null
    if (!secretMatches(parsed.secret, row.secret_hash) || !row.usable) throw ERR.unauthorized('The account key is not valid.')
    return { kind: 'account', accountId: row.account_id, sessionId: null }
  }

  purgeDeleted(retentionDays: number): Promise<number> {
    return this.repo.purgeDeleted(retentionDays)
  }

  private async findKey(keyId: string, now: number): Promise<AccountKeyRow | null> {
    const cached = this.cache.key(keyId, now)
    if (cached !== undefined) return cached
    const row = await this.repo.findKey(keyId)
    this.cache.setKey(keyId, row, now)
    return row
  }
}

function checkPassword(password: string, pointer: string): void {
  const problems = passwordProblems(password, pointer)
  if (problems.length > 0) throw ERR.validation('The password does not meet the password policy.', problems)
}
