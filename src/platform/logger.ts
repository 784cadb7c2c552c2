import type { LoggerOptions } from 'pino'
import type { LogLevel } from '../config.js'

/** Headers whose values never reach a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
]

const CENSOR = '[redacted]'

/**
 * Names whose values never reach a log line or the audit log: credentials by name, in any case
 * (`token`, `api_key`, `client_secret`, `password`, `authorization`, OAuth's `code`, a signed URL's
 * `X-Amz-Signature`, ...). OAuth's `state` is kept: a one-time anti-forgery value, not a credential,
 * and useful to trace a flow. The one list for query parameters and body members alike.
 */
export const SECRET_NAME = /token|secret|passw|key|signature|credential|authori[sz]ation|^(code|sig|auth|pwd|jwt)$/i

function parameterName(raw: string): string {
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '))
  } catch {
    return raw
  }
}

/** The URL with the value of every secret-looking query parameter replaced. */
export function redactUrl(url: string): string {
  const start = url.indexOf('?')
  if (start < 0) return url
  const parameters = url
    .slice(start + 1)
    .split('&')
    .map((parameter) => {
      const equals = parameter.indexOf('=')
      if (equals < 0) return parameter
      const name = parameter.slice(0, equals)
      return SECRET_NAME.test(parameterName(name)) ? `${name}=${CENSOR}` : parameter
    })
  return `${url.slice(0, start)}?${parameters.join('&')}`
}

interface LoggedRequest {
  method: string
  url: string
  host?: string
  ip?: string
  socket?: { remotePort?: number }
}

/** pino options for the service: JSON lines, request ids, secrets redacted. */
export function loggerOptions(level: LogLevel): LoggerOptions {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: CENSOR },
    serializers: {
      // Fastify's own request serializer, but without the values of secret query parameters.
      req: (request: LoggedRequest) => ({
        method: request.method,
        url: redactUrl(request.url),
        host: request.host,
        remoteAddress: request.ip,
        remotePort: request.socket?.remotePort,
      }),
    },
  }
}

/**
 * A warning that can fire on every request while a dependency is down: the first is logged at once,
 * then at most one per interval, carrying how many were suppressed in between.
 */
export function throttledWarning(
  log: { warn(object: object, message: string): void },
  message: string,
  intervalMs = 30_000,
  now: () => number = Date.now,
): (error: unknown) => void {
  let last = -Infinity
  let suppressed = 0
  return (error) => {
    const at = now()
    if (at - last < intervalMs) {
      suppressed++
      return
    }
    log.warn({ err: error, suppressed }, message)
    last = at
    suppressed = 0
  }
}
