import type { LlmProviderName } from './llm.js'

/** What went wrong, coarse enough for the caller to decide between "failed" and "try again". */
export type LlmErrorCode =
  | 'auth' // 401/403: the key is wrong or lacks access
  | 'bad_request' // 400/404/413/422: the request itself (model name, size) is rejected
  | 'rate_limited' // 429
  | 'overloaded' // 5xx, 529, overloaded/api error events
  | 'connection' // no answer, or the connection broke mid-stream
  | 'incomplete' // the stream ended without its end-of-message marker
  | 'protocol' // the provider sent something that is not its protocol
  | 'timeout' // no chunk within timeoutMs
  | 'aborted' // the caller's signal fired

const RETRYABLE: ReadonlySet<LlmErrorCode> = new Set([
  'rate_limited',
  'overloaded',
  'connection',
  'incomplete',
  'timeout',
])

/**
 * A provider failure. The message is meant to be stored and shown (a failed message's `error`): it
 * names the provider and the cause, never a stack or a credential.
 */
export class LlmError extends Error {
  override readonly name = 'LlmError'
  readonly provider: LlmProviderName
  readonly code: LlmErrorCode
  /** The HTTP status when the provider answered with one. */
  readonly status: number | undefined
  /** Whether sending the same request again may succeed (a resume, for a partly streamed reply). */
  readonly retryable: boolean

  constructor(
    provider: LlmProviderName,
    code: LlmErrorCode,
    message: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(`${provider}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause })
    this.provider = provider
    this.code = code
    this.status = options.status
    this.retryable = RETRYABLE.has(code)
  }
}

/** Settings that cannot work (for example Anthropic without a key); raised when the provider is built. */
export class LlmConfigError extends Error {
  override readonly name = 'LlmConfigError'
}

export function codeForStatus(status: number): LlmErrorCode {
  if (status === 401 || status === 403) return 'auth'
  if (status === 429) return 'rate_limited'
  if (status === 408) return 'timeout'
  if (status >= 500) return 'overloaded'
  return 'bad_request'
}

/** Provider text can echo input; keep it short and never let the configured key through. */
export function cleanProviderText(text: string, secret: string | null): string {
  let clean = text.replace(/\s+/g, ' ').trim()
  if (secret && secret.length >= 4) clean = clean.split(secret).join('***')
  return clean.length > 300 ? `${clean.slice(0, 297)}...` : clean
}

/** Error `type`s of both providers' bodies and stream error events. */
export function codeForErrorType(type: string | null | undefined): LlmErrorCode {
  switch (type) {
    case 'authentication_error':
    case 'permission_error':
    case 'invalid_api_key':
    case 'billing_error':
      return 'auth'
    case 'invalid_request_error':
    case 'not_found_error':
    case 'request_too_large':
      return 'bad_request'
    case 'rate_limit_error':
    case 'rate_limit_exceeded':
    case 'requests':
    case 'tokens':
      return 'rate_limited'
    case 'timeout_error':
      return 'timeout'
    default:
      // Errors inside a stream that already started are the provider's (overloaded_error, api_error, server_error).
      return 'overloaded'
  }
}

export interface ProviderFailure {
  /** HTTP status, absent for an error sent inside a 200 stream. */
  status: number | undefined
  /** The provider's error `type`, when its body named one. */
  type: string | null | undefined
  /** The provider's own explanation. */
  message: string | null | undefined
}

/** An error the provider answered with (an HTTP status or an error event), as an LlmError. */
export function providerError(
  provider: LlmProviderName,
  failure: ProviderFailure,
  secret: string | null,
  cause: unknown,
): LlmError {
  const explanation = cleanProviderText(failure.message || failure.type || 'no details', secret)
  const kind = failure.type ? ` ${failure.type}` : ''
  if (failure.status === undefined) {
    return new LlmError(provider, codeForErrorType(failure.type), `error event in the stream:${kind}: ${explanation}`, { cause })
  }
  return new LlmError(provider, codeForStatus(failure.status), `HTTP ${failure.status}${kind}: ${explanation}`, {
    status: failure.status,
    cause,
  })
}

/** Anything else that broke the request: no connection, a connection cut mid-stream, bad data. */
export function transportError(provider: LlmProviderName, error: unknown, secret: string | null): LlmError {
  if (error instanceof SyntaxError) {
    return new LlmError(provider, 'protocol', `malformed data in the stream: ${cleanProviderText(error.message, secret)}`, { cause: error })
  }
  const reason = describe(error)
  return new LlmError(provider, 'connection', `connection failed or broke: ${cleanProviderText(reason, secret)}`, { cause: error })
}

/** `Connection error.` / `terminated` say little; the causes (ECONNREFUSED, other side closed) say why. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const parts: string[] = []
  let current: unknown = error
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    if (current.message) parts.push(current.message.replace(/\.$/, ''))
    if ('code' in current && typeof current.code === 'string') parts.push(current.code)
    current = current.cause
  }
  return [...new Set(parts)].join(': ')
}
