import { uuidv7 } from 'uuidv7'
import { identityEvent, type AuditContext, type AuditSink } from '../../platform/audit/audit.js'
import { hashSecret, newRefreshToken } from '../../platform/auth/api-key.js'
import { AppError } from '../../platform/errors.js'
import type { AccessTokens } from '../../platform/auth/access-tokens.js'
import { dummyPasswordHash, verifyPassword } from '../../platform/auth/password.js'
import type { AccountPrincipal } from '../../platform/auth/principal.js'
import { ERR } from '../../platform/errors.js'
import type { AccountAuthCache } from './account-auth-cache.js'
import type { AccountSessionsRepository } from './account-sessions.repo.js'
import type { AccountsRepository } from './accounts.repo.js'
import type { CredentialsInput, TokenPairView } from './accounts.schemas.js'
import type { LoginThrottle } from './login-throttle.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Logins: each starts a session, a family of one-time refresh tokens whose access tokens carry its
 * id (`sid`). Ending a session refuses its access tokens at once, in every process.
 */
export class AccountSessionsService {
  constructor(
    private readonly repo: AccountSessionsRepository,
    private readonly accounts: AccountsRepository,
    private readonly tokens: AccessTokens,
    private readonly throttle: LoginThrottle,
    private readonly cache: AccountAuthCache,
    private readonly options: { refreshTokenTtlSeconds: number },
    private readonly audit: AuditSink,
  ) {
    // Made now, so that the first unknown email does not pay for it (and stand out by its time).
    dummyPasswordHash().catch(() => {})
  }

  /** A failed attempt is recorded too, in the log of the account whose email it named (if any). */
  async login(input: CredentialsInput, context: AuditContext): Promise<TokenPairView> {
    return (await this.signIn(input, context)).tokens
  }

  /** A login, with the account and session it started (the admin console keeps those, not the tokens). */
  async signIn(input: CredentialsInput, context: AuditContext): Promise<{ accountId: string; sessionId: string; tokens: TokenPairView }> {
    const ip = context.ip ?? ''
    const request = { email: input.email }
    const account = await this.accounts.findByEmail(input.email)
    const failed = (status: number) =>
      this.audit.record(identityEvent(context, { action: 'login', status, accountId: account?.id ?? null, request }))
    try {
      await this.throttle.check(input.email, ip)
    } catch (error) {
      if (error instanceof AppError) failed(error.status)
      throw error
    }
    const usable = account !== null && account.deleted_at === null
    // An unknown email costs the same hash check as a wrong password: timing does not tell which exist.
    const matches = await verifyPassword(usable ? account.password_hash : await dummyPasswordHash(), input.password)
    if (!usable || !matches) {
      await this.throttle.failed(input.email, ip)
      failed(401)
      throw ERR.invalidCredentials('The email or password is not correct.')
    }
    await this.throttle.succeeded(input.email)
    const pair = await this.start(account.id)
    const principal = { kind: 'account' as const, id: account.id }
    this.audit.record(identityEvent(context, { action: 'login', status: 200, accountId: account.id, principal, targets: { session_id: pair.sessionId }, request }))
    return { accountId: account.id, ...pair }
  }

  /** A fresh access token of a session that `authenticate` still has to accept (it checks the session is live). */
  async accessToken(accountId: string, sessionId: string): Promise<string> {
    return this.tokens.issue({ sub: accountId, sid: sessionId })
  }

  /** Ends one session (a sign-out), at once everywhere. */
  async endSession(accountId: string, sessionId: string): Promise<void> {
    await this.repo.revokeSession(accountId, sessionId)
    await this.cache.forgetAccount(accountId)
  }

  /** Checks a password for an operation of a signed-in account, counted like a login. */
  async checkPassword(email: string, passwordHash: string, password: string, ip: string): Promise<boolean> {
    await this.throttle.check(email, ip)
    if (await verifyPassword(passwordHash, password)) return true
    await this.throttle.failed(email, ip)
    return false
  }

  /** Exchanges a refresh token for a new pair; a token used before ends its whole session. */
  async refresh(refreshToken: string, context: AuditContext): Promise<TokenPairView> {
    const hash = hashSecret(refreshToken)
    const row = await this.repo.findRefreshToken(hash)
    if (!row) throw ERR.invalidCredentials('The refresh token is not valid.')
    if (!row.session_live) throw ERR.invalidCredentials('The session of this refresh token has ended; log in again.')
    const next = newRefreshToken()
    const rotated = row.used_at === null && (await this.repo.rotate(hash, { account_id: row.account_id, session_id: row.session_id, token_hash: next.hash }, this.expiry()))
    if (!rotated) {
      // Someone holds a copy of a token that was already exchanged: neither copy may go on.
      await this.repo.revokeSession(row.account_id, row.session_id)
      await this.cache.forgetAccount(row.account_id)
      this.audit.record(
        identityEvent(context, { action: 'refreshToken.reused', status: 401, accountId: row.account_id, targets: { session_id: row.session_id } }),
      )
      throw ERR.invalidCredentials('This refresh token was already used, so its session has been ended; log in again.')
    }
    const principal = { kind: 'account' as const, id: row.account_id }
    this.audit.record(identityEvent(context, { action: 'refreshToken', status: 200, accountId: row.account_id, principal, targets: { session_id: row.session_id } }))
    return this.pair(row.account_id, row.session_id, next.token)
  }

  /** The account of a valid access token whose session still holds. */
  async authenticate(token: string, now = Date.now()): Promise<AccountPrincipal> {
    const claims = await this.tokens.verify(token)
    if (!UUID.test(claims.sub) || !UUID.test(claims.sid)) throw ERR.invalidToken('The access token is not valid.')
    if (!(await this.sessionLive(claims.sub, claims.sid, now))) throw ERR.invalidToken('The session of this access token has ended.')
    return { kind: 'account', accountId: claims.sub, sessionId: claims.sid }
  }

  /** Whether a login session still holds (not ended, not expired), through the cache every process keeps current. */
  async sessionLive(accountId: string, sessionId: string, now = Date.now()): Promise<boolean> {
    let live = this.cache.sessionLive(accountId, sessionId, now)
    if (live === undefined) {
      live = await this.repo.sessionLive(accountId, sessionId)
      this.cache.setSession(accountId, sessionId, live, now)
    }
    return live
  }

  /** Ends every session of the account but `keep` (null: all), at once everywhere. */
  async endOtherSessions(accountId: string, keep: string | null): Promise<void> {
    await this.repo.revokeOtherSessions(accountId, keep)
    await this.cache.forgetAccount(accountId)
  }

  /** Housekeeping: sessions ended over a day ago and failed-login counts that delay no one any more. */
  async purgeEnded(): Promise<{ sessions: number; loginFailures: number }> {
    return { sessions: await this.repo.deleteEndedSessions(), loginFailures: await this.throttle.purgeStale() }
  }

  private async start(accountId: string): Promise<{ sessionId: string; tokens: TokenPairView }> {
    const sessionId = uuidv7()
    const refresh = newRefreshToken()
    await this.repo.insertSession({ account_id: accountId, id: sessionId, expires_at: this.expiry() }, refresh.hash)
    return { sessionId, tokens: await this.pair(accountId, sessionId, refresh.token) }
  }

  private async pair(accountId: string, sessionId: string, refreshToken: string): Promise<TokenPairView> {
    return {
      access_token: await this.tokens.issue({ sub: accountId, sid: sessionId }),
      refresh_token: refreshToken,
      token_type: 'Bearer',
      expires_in: this.tokens.ttlSeconds,
    }
  }

  private expiry(): Date {
    return new Date(Date.now() + this.options.refreshTokenTtlSeconds * 1000)
  }
}
