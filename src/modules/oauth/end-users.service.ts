import { uuidv7 } from 'uuidv7'
import { dummyPasswordHash, hashPassword, passwordProblems, verifyPassword } from '../../platform/auth/password.js'
import { ERR, type FieldError } from '../../platform/errors.js'
import type { LoginThrottle } from '../accounts/login-throttle.js'
import type { EndUserRow, EndUsersRepository } from './end-users.repo.js'

// The shape every mail system accepts; the consent form is not validated by a schema.
const EMAIL = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]+$/
const MAX_PASSWORD = 1024

/**
 * The people who use a GPT through an OAuth app. They sign up and sign in on the consent page, per
 * GPT, under the same password policy and failed-login delays as accounts.
 */
export class EndUsersService {
  constructor(
    private readonly repo: EndUsersRepository,
    private readonly throttle: LoginThrottle,
  ) {
    dummyPasswordHash().catch(() => {})
  }

  async signup(gptId: string, email: string, password: string): Promise<EndUserRow> {
    const problems: FieldError[] = [...emailProblems(email), ...(password.length > MAX_PASSWORD ? [{ pointer: '/password', message: 'is too long' }] : passwordProblems(password))]
    if (problems.length > 0) throw ERR.validation('The email or password cannot be used.', problems)
    const row = await this.repo.insertEndUser({ gpt_id: gptId, id: uuidv7(), email, password_hash: await hashPassword(password) })
    if (!row) throw ERR.conflict('This email is already signed up here: sign in instead.')
    return row
  }

  /** An unknown email costs the same hash check as a wrong password. */
  async login(gptId: string, email: string, password: string, ip: string): Promise<EndUserRow> {
    await this.throttle.check(email, ip)
    const row = email.length <= 254 ? await this.repo.findByEmail(gptId, email) : null
    const matches = await verifyPassword(row?.password_hash ?? (await dummyPasswordHash()), password.slice(0, MAX_PASSWORD))
    if (!row || !matches) {
      await this.throttle.failed(email, ip)
      throw ERR.invalidCredentials('The email or password is not correct.')
    }
    await this.throttle.succeeded(email)
    return row
  }
}

function emailProblems(email: string): FieldError[] {
  return email.length <= 254 && EMAIL.test(email) ? [] : [{ pointer: '/email', message: 'must be an email address' }]
}
