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

/** pino options for the service: JSON lines, request ids, secrets redacted. */
export function loggerOptions(level: LogLevel): LoggerOptions {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
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
