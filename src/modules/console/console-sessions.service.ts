import { randomBytes } from 'node:crypto'
import { identityEvent, type AuditContext, type AuditSink } from '../../platform/audit/audit.js'
import { hashSecret, tokensEqual } from '../../platform/auth/api-key.js'
import { ERR } from '../../platform/errors.js'
import type { AccountSessionsService } from '../accounts/account-sessions.service.js'
import type { CredentialsInput } from '../accounts/accounts.schemas.js'
import type { ConsoleSessionRow, ConsoleSessionsRepository } from './console-sessions.repo.js'

export interface ConsoleSession {
  kind: 'account' | 'operator'
  accountId: string | null
  csrfToken: string
  expiresAt: Date
}

export interface ConsoleSessionsOptions {
  adminToken: string | null
  ttlSeconds: number
  audit: AuditSink
}

/**
 * Sign-ins to the admin console. The browser holds only a random cookie token; the console's server
 * side turns it into the credential the API itself checks (the operator's admin token, or a fresh
 * access token of the account's login session), so the console never gets past the API's own rules.
 */
export class ConsoleSessionsService {
  constructor(
    private readonly repo: ConsoleSessionsRepository,
    private readonly accountSessions: AccountSessionsService,
    private readonly options: ConsoleSessionsOptions,
  ) {}

  get ttlSeconds(): number {
    return this.options.ttlSeconds
  }

  /** Goes through the account login (throttled, audited): a wrong password is the same 401 as there. */
  async signInAccount(credentials: CredentialsInput, context: AuditContext): Promise<{ token: string; session: ConsoleSession }> {
    const { accountId, sessionId } = await this.accountSessions.signIn(credentials, context)
    return this.start({ kind: 'account', account_id: accountId, account_session_id: sessionId })
  }

  /** Audited like an account's login: who signed in as the operator, and every refused attempt. */
  async signInOperator(adminToken: string, context: AuditContext): Promise<{ token: string; session: ConsoleSession }> {
    const refused = (detail: string) => {
      this.options.audit.record(identityEvent(context, { action: 'console.signIn', status: 401 }))
      return ERR.unauthorized(detail)
    }
    if (this.options.adminToken === null) throw refused('This server has no ADMIN_TOKEN: only accounts can sign in.')
    if (!tokensEqual(adminToken, this.options.adminToken)) throw refused('The admin token is not valid.')
    const started = await this.start({ kind: 'operator', account_id: null, account_session_id: null })
    this.options.audit.record(identityEvent(context, { action: 'console.signIn', status: 201, principal: { kind: 'admin', id: null } }))
    return started
  }

  /** The live session of a cookie token; null when there is none, it expired, or its login session ended. */
  async find(token: string | undefined): Promise<{ session: ConsoleSession; bearer: () => Promise<string> } | null> {
    if (!token) return null
    const row = await this.repo.findLive(hashSecret(token))
    if (!row) return null
    // The account's login session ends with a new password, a reuse of its refresh token or the account's deletion.
    if (row.kind === 'account' && !(await this.accountSessions.sessionLive(row.account_id!, row.account_session_id!))) return null
    return { session: view(row), bearer: () => this.bearer(row) }
  }

  async signOut(token: string): Promise<void> {
    const row = await this.repo.delete(hashSecret(token))
    if (row?.account_id && row.account_session_id) await this.accountSessions.endSession(row.account_id, row.account_session_id)
  }

  /** Removes expired sign-ins (the console.purge-sessions job); returns how many. */
  purgeExpired(): Promise<number> {
    return this.repo.deleteExpired()
  }

  private async start(principal: Pick<ConsoleSessionRow, 'kind' | 'account_id' | 'account_session_id'>) {
    await this.repo.deleteExpired()
    const token = randomBytes(32).toString('base64url')
    const row: ConsoleSessionRow = {
      ...principal,
      csrf_token: randomBytes(32).toString('base64url'),
      expires_at: new Date(Date.now() + this.options.ttlSeconds * 1000),
    }
    await this.repo.insert(hashSecret(token), row)
    return { token, session: view(row) }
  }

  /** What the API is called with: checked there as if a person had sent it. */
  private async bearer(row: ConsoleSessionRow): Promise<string> {
    if (row.kind === 'operator') {
      // The token may have been removed from the configuration since the sign-in.
      if (this.options.adminToken === null) throw ERR.unauthorized('This server has no ADMIN_TOKEN any more.')
      return this.options.adminToken
    }
    return this.accountSessions.accessToken(row.account_id!, row.account_session_id!)
  }
}

function view(row: ConsoleSessionRow): ConsoleSession {
  return { kind: row.kind, accountId: row.account_id, csrfToken: row.csrf_token, expiresAt: row.expires_at }
}
