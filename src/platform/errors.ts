/** Every problem the service can answer with; the value is the last segment of the problem `type` URI. */
export enum ErrorCode {
  BadRequest = 'bad-request',
  MalformedJson = 'malformed-json',
  InvalidCursor = 'invalid-cursor',
  Unauthorized = 'unauthorized',
  InvalidCredentials = 'invalid-credentials',
  Forbidden = 'forbidden',
  NotFound = 'not-found',
  MethodNotAllowed = 'method-not-allowed',
  Conflict = 'conflict',
  PreconditionFailed = 'precondition-failed',
  RequestTimeout = 'request-timeout',
  PayloadTooLarge = 'payload-too-large',
  UriTooLong = 'uri-too-long',
  UnsupportedMediaType = 'unsupported-media-type',
  ValidationFailed = 'validation-failed',
  RateLimited = 'rate-limited',
  HeadersTooLarge = 'headers-too-large',
  Internal = 'internal',
  BadGateway = 'bad-gateway',
  Unavailable = 'unavailable',
}

interface ProblemKind {
  status: number
  title: string
  /** What it means and what to do: served at /problems/<code>, where each problem's `type` points. */
  description: string
}

export const PROBLEMS: Record<ErrorCode, ProblemKind> = {
  [ErrorCode.BadRequest]: { status: 400, title: 'Bad Request', description: 'The request cannot be processed as sent; `detail` says why, and `errors` lists failing fields or lines (for example a document that fails its collection schema).' },
  [ErrorCode.MalformedJson]: { status: 400, title: 'Malformed JSON', description: 'The body is not valid JSON. Send one JSON value with Content-Type application/json.' },
  [ErrorCode.InvalidCursor]: { status: 400, title: 'Invalid Cursor', description: 'The cursor is malformed or belongs to another list or sort order. Start again without `cursor`, then pass `next_cursor` unchanged.' },
  [ErrorCode.Unauthorized]: { status: 401, title: 'Unauthorized', description: 'No valid credentials: send `Authorization: Bearer <key>` with a key that exists, is not revoked and has not expired.' },
  [ErrorCode.InvalidCredentials]: { status: 401, title: 'Invalid Credentials', description: 'A login with an email and password that do not match an account, or a refresh token that is unknown, expired, already used (which ends its session) or of an ended session. Log in again.' },
  [ErrorCode.Forbidden]: { status: 403, title: 'Forbidden', description: 'The key is valid but may not do this: it belongs to another GPT, or lacks the scope (read, write, admin) the operation needs.' },
  [ErrorCode.NotFound]: { status: 404, title: 'Not Found', description: 'No such route, or no such item for this GPT.' },
  [ErrorCode.MethodNotAllowed]: { status: 405, title: 'Method Not Allowed', description: 'The path exists but not with this method; the `Allow` header lists the methods it takes.' },
  [ErrorCode.Conflict]: { status: 409, title: 'Conflict', description: 'The request conflicts with the current state (an id that is taken, a change racing another); `detail` says which.' },
  [ErrorCode.PreconditionFailed]: { status: 412, title: 'Precondition Failed', description: '`If-Match` named an ETag that is no longer current: read the item again, reapply the change, and retry with the new ETag.' },
  [ErrorCode.RequestTimeout]: { status: 408, title: 'Request Timeout', description: 'The request did not arrive completely in time; the connection is closed. Send it again.' },
  [ErrorCode.PayloadTooLarge]: { status: 413, title: 'Payload Too Large', description: 'The body (or the number of documents in an import) is over the configured limit.' },
  [ErrorCode.UriTooLong]: { status: 414, title: 'URI Too Long', description: 'A segment of the path is longer than any identifier the service uses; check the URL.' },
  [ErrorCode.UnsupportedMediaType]: { status: 415, title: 'Unsupported Media Type', description: 'The Content-Type is not one this route reads: application/json, or application/x-ndjson for imports.' },
  [ErrorCode.ValidationFailed]: { status: 422, title: 'Validation Failed', description: 'The request is well-formed but not valid; `errors` lists each failing member as a JSON pointer with a message.' },
  [ErrorCode.RateLimited]: { status: 429, title: 'Too Many Requests', description: 'A rate limit is used up; retry after `Retry-After` seconds. `RateLimit-*` headers show the budget.' },
  [ErrorCode.HeadersTooLarge]: { status: 431, title: 'Request Header Fields Too Large', description: 'The request line and headers together are over the size the server reads (16 KiB by default); shorten the URL (send large input in a body) or the headers. The connection is closed.' },
  [ErrorCode.Internal]: { status: 500, title: 'Internal Server Error', description: 'An unexpected failure. The service log has the details under the `request_id` of the answer.' },
  [ErrorCode.BadGateway]: { status: 502, title: 'Bad Gateway', description: 'An upstream service (the LLM provider) failed or timed out. What was generated is kept: `message_id` names the stored message, which `POST /v1/sessions/{id}/resume` continues.' },
  [ErrorCode.Unavailable]: { status: 503, title: 'Service Unavailable', description: 'A dependency the service needs (the database, its migrations) is not ready.' },
}

/** One failing field: where it is (a JSON pointer into the request part named by `location`) and what is wrong. */
export interface FieldError {
  pointer: string
  message: string
  location?: 'body' | 'query' | 'params' | 'headers'
  /** The line of an NDJSON import the error belongs to. */
  line?: number
  /** The record type of that line (a GPT archive: header, collection, document, …, end). */
  record?: string
}

export class AppError extends Error {
  readonly status: number
  readonly title: string

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly extra: { errors?: FieldError[]; headers?: Record<string, string>; [key: string]: unknown } = {},
  ) {
    super(detail)
    this.name = 'AppError'
    this.status = PROBLEMS[code].status
    this.title = PROBLEMS[code].title
  }
}

export function codeForStatus(status: number): ErrorCode {
  const found = (Object.keys(PROBLEMS) as ErrorCode[]).find((code) => PROBLEMS[code].status === status)
  return found ?? (status >= 500 ? ErrorCode.Internal : ErrorCode.BadRequest)
}

export const ERR = {
  badRequest: (detail: string) => new AppError(ErrorCode.BadRequest, detail),
  invalidCursor: (detail = 'The cursor is malformed or was issued for another list.') =>
    new AppError(ErrorCode.InvalidCursor, detail),
  unauthorized: (detail: string) =>
    new AppError(ErrorCode.Unauthorized, detail, { headers: { 'www-authenticate': 'Bearer realm="agentstore"' } }),
  /** RFC 6750: a bearer access token that is malformed, expired, or not signed by us. */
  invalidToken: (detail: string) =>
    new AppError(ErrorCode.Unauthorized, detail, {
      headers: { 'www-authenticate': `Bearer realm="agentstore", error="invalid_token", error_description="${detail}"` },
    }),
  /** A login or refresh that names no valid credentials (not a bearer token: no WWW-Authenticate challenge). */
  invalidCredentials: (detail: string) => new AppError(ErrorCode.InvalidCredentials, detail),
  forbidden: (detail: string) => new AppError(ErrorCode.Forbidden, detail),
  notFoundDetail: (detail: string) => new AppError(ErrorCode.NotFound, detail),
  badGateway: (detail: string, extra: Record<string, unknown> = {}) => new AppError(ErrorCode.BadGateway, detail, extra),
  notFound: (what: string, id?: string) =>
    new AppError(ErrorCode.NotFound, id === undefined ? `${what} not found.` : `${what} ${JSON.stringify(id)} not found.`),
  payloadTooLarge: (detail: string) => new AppError(ErrorCode.PayloadTooLarge, detail),
  unsupportedMediaType: (detail: string) => new AppError(ErrorCode.UnsupportedMediaType, detail),
  conflict: (detail: string) => new AppError(ErrorCode.Conflict, detail),
  preconditionFailed: (detail: string) => new AppError(ErrorCode.PreconditionFailed, detail),
  validation: (detail: string, errors: FieldError[]) => new AppError(ErrorCode.ValidationFailed, detail, { errors }),
  rateLimited: (retryAfterSeconds: number) =>
    new AppError(ErrorCode.RateLimited, `Rate limit exceeded; retry in ${retryAfterSeconds} s.`, {
      headers: { 'retry-after': String(retryAfterSeconds) },
    }),
  unavailable: (detail: string, extra: Record<string, unknown> = {}) => new AppError(ErrorCode.Unavailable, detail, extra),
}
