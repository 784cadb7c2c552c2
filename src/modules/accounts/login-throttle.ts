import { ERR } from '../../platform/errors.js'
import type { LoginFailuresRepository } from './login-failures.repo.js'

export interface LoginThrottleOptions {
  /** Failures of one email before it is locked (then each further failure doubles the lock). */
  emailThreshold: number
  /** Failures from one IP address (several people may share one behind a NAT). */
  ipThreshold: number
  /** The first lock; each further failure doubles it, up to maxLockMs. */
  baseLockMs: number
  maxLockMs: number
  /** Failures further apart than this (and not locked) start counting again. */
  windowMs: number
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = {
  emailThreshold: 5,
  ipThreshold: 20,
  baseLockMs: 1000,
  maxLockMs: 3_600_000,
  windowMs: 900_000,
}

/** Growing delays for failed logins, per email (known or not, alike) and per client IP, shared by every process. */
export class LoginThrottle {
  constructor(
    private readonly repo: LoginFailuresRepository,
    readonly options: LoginThrottleOptions = DEFAULT_LOGIN_THROTTLE,
  ) {}

  /** 429 with Retry-After while the email or the IP is locked. */
  async check(email: string, ip: string, now = new Date()): Promise<void> {
    const until = await this.repo.lockedUntil([emailSubject(email), ipSubject(ip)])
    if (until !== null && until > now) throw ERR.rateLimited(Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000)))
  }

  async failed(email: string, ip: string, now = new Date()): Promise<void> {
    await this.count(emailSubject(email), this.options.emailThreshold, now)
    await this.count(ipSubject(ip), this.options.ipThreshold, now)
  }

  /** A successful login clears the email's count (not the IP's: one good account must not reset a guesser's IP). */
  async succeeded(email: string): Promise<void> {
    await this.repo.clear(emailSubject(email))
  }

  /** Drops counts that no longer delay anyone, so that guessed emails and IPs do not pile up. */
  purgeStale(now = new Date()): Promise<number> {
    return this.repo.purgeStale(now, this.options.windowMs)
  }

  private async count(subject: string, threshold: number, now: Date): Promise<void> {
    const failures = await this.repo.addFailure(subject, now, this.options.windowMs)
    if (failures < threshold) return
    const lockMs = Math.min(this.options.maxLockMs, this.options.baseLockMs * 2 ** Math.min(failures - threshold, 30))
    await this.repo.lock(subject, new Date(now.getTime() + lockMs))
  }
}

const emailSubject = (email: string) => `email:${email.toLowerCase()}`
const ipSubject = (ip: string) => `ip:${ip}`
