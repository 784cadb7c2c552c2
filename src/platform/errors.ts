/** Every problem the service can answer with; the value is the last segment of the problem `type` URI. */
export enum ErrorCode {
  BadRequest = 'bad-request',
  MalformedJson = 'malformed-json',
  InvalidCursor = 'invalid-cursor',
  Unauthorized = 'unauthorized',
  Forbidden = 'forbidden',
  NotFound = 'not-found',
  MethodNotAllowed = 'method-not-allowed',
  NotAcceptable = 'not-acceptable',
  Conflict = 'conflict',
  PreconditionFailed = 'precondition-failed',
  PayloadTooLarge = 'payload-too-large',
  UnsupportedMediaType = 'unsupported-media-type',
  ValidationFailed = 'validation-failed',
  RateLimited = 'rate-limited',
  Internal = 'internal',
  Unavailable = 'unavailable',
}

const STATUS: Record<ErrorCode, [number, string]> = {
  [ErrorCode.BadRequest]: [400, 'Bad Request'],
  [ErrorCode.MalformedJson]: [400, 'Malformed JSON'],
  [ErrorCode.InvalidCursor]: [400, 'Invalid Cursor'],
  [ErrorCode.Unauthorized]: [401, 'Unauthorized'],
  [ErrorCode.Forbidden]: [403, 'Forbidden'],
  [ErrorCode.NotFound]: [404, 'Not Found'],
  [ErrorCode.MethodNotAllowed]: [405, 'Method Not Allowed'],
  [ErrorCode.NotAcceptable]: [406, 'Not Acceptable'],
  [ErrorCode.Conflict]: [409, 'Conflict'],
  [ErrorCode.PreconditionFailed]: [412, 'Precondition Failed'],
  [ErrorCode.PayloadTooLarge]: [413, 'Payload Too Large'],
  [ErrorCode.UnsupportedMediaType]: [415, 'Unsupported Media Type'],
  [ErrorCode.ValidationFailed]: [422, 'Validation Failed'],
  [ErrorCode.RateLimited]: [429, 'Too Many Requests'],
  [ErrorCode.Internal]: [500, 'Internal Server Error'],
  [ErrorCode.Unavailable]: [503, 'Service Unavailable'],
}

/** One failing field: where it is (a JSON pointer into the request part named by `location`) and what is wrong. */
export interface FieldError {
  pointer: string
  message: string
  location?: 'body' | 'query' | 'params' | 'headers'
  /** The line of an NDJSON import the error belongs to. */
  line?: number
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
    const [status, title] = STATUS[code]
    this.status = status
    this.title = title
  }
}

export function statusOf(code: ErrorCode): number {
  return STATUS[code][0]
}

export function codeForStatus(status: number): ErrorCode {
  const found = (Object.keys(STATUS) as ErrorCode[]).find((code) => STATUS[code][0] === status)
  return found ?? (status >= 500 ? ErrorCode.Internal : ErrorCode.BadRequest)
}

export const ERR = {
  badRequest: (detail: string) => new AppError(ErrorCode.BadRequest, detail),
  invalidCursor: (detail = 'The cursor is malformed or was issued for another list.') =>
    new AppError(ErrorCode.InvalidCursor, detail),
  unauthorized: (detail: string) =>
    new AppError(ErrorCode.Unauthorized, detail, { headers: { 'www-authenticate': 'Bearer realm="agentstore"' } }),
  forbidden: (detail: string) => new AppError(ErrorCode.Forbidden, detail),
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
