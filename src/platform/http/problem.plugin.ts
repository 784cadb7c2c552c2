import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import FindMyWay from 'find-my-way'
import { AppError, codeForStatus, ErrorCode, PROBLEMS, type FieldError } from '../errors.js'

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

type ValidationContext = 'body' | 'querystring' | 'params' | 'headers'

interface AjvIssue {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
}

const LOCATION: Record<ValidationContext, FieldError['location']> = {
  body: 'body',
  querystring: 'query',
  params: 'params',
  headers: 'headers',
}

/**
 * Where a value failed every branch of an anyOf/oneOf (for example "a string or null"), the
 * branches' "must be null" and the bare "must match a schema in anyOf" say nothing useful next to
 * the real reasons: they are dropped when a real reason remains for that member.
 */
function withoutBranchNoise(issues: AjvIssue[]): AjvIssue[] {
  const branched = new Set(issues.filter((i) => i.keyword === 'anyOf' || i.keyword === 'oneOf').map((i) => i.instancePath))
  const noise = (i: AjvIssue) => i.keyword === 'anyOf' || i.keyword === 'oneOf' || i.keyword === 'type'
  return issues.filter((issue) => {
    if (!branched.has(issue.instancePath) || !noise(issue)) return true
    return !issues.some((other) => other.instancePath === issue.instancePath && !noise(other))
  })
}

/** Translates ajv's issues into `{pointer, message}`, pointing at the offending member itself. */
export function fieldErrorsFromAjv(issues: AjvIssue[], location?: FieldError['location']): FieldError[] {
  return withoutBranchNoise(issues).map((issue) => {
    let pointer = issue.instancePath
    const member = issue.params.missingProperty ?? issue.params.additionalProperty ?? issue.params.propertyName
    if (typeof member === 'string' && issue.keyword !== 'propertyNames') pointer += `/${escapePointer(member)}`
    let message = issue.message ?? issue.keyword
    if (issue.keyword === 'additionalProperties') message = 'is not an allowed property'
    if (issue.keyword === 'enum' && Array.isArray(issue.params.allowedValues)) {
      message = `must be one of ${issue.params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
    }
    return { pointer, message, ...(location ? { location } : {}) }
  })
}

function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1')
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  const { errors, headers, ...extensions } = error.extra
  if (headers) reply.headers(headers)
  return reply
    .code(error.status)
    .type(PROBLEM_CONTENT_TYPE)
    // Fastify appends `; charset=utf-8` to a JSON type unless the reply brings its own serializer; JSON
    // media types define no charset parameter (and some clients compare the header exactly).
    .serializer(JSON.stringify)
    .send({
      type: `/problems/${error.code}`,
      title: error.title,
      status: error.status,
      detail: error.detail,
      instance: request.url.split('?')[0],
      request_id: request.id,
      ...(errors ? { errors } : {}),
      ...extensions,
    })
}

/** Maps Fastify's own errors (parsing, limits, validation) onto the service's problems. */
function toAppError(error: FastifyError & { validation?: AjvIssue[]; validationContext?: ValidationContext }): AppError {
  if (error instanceof AppError) return error
  if (error.validation) {
    const location = error.validationContext ? LOCATION[error.validationContext] : undefined
    return new AppError(ErrorCode.ValidationFailed, 'The request is not valid; see `errors`.', {
      errors: fieldErrorsFromAjv(error.validation, location),
    })
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError(ErrorCode.PayloadTooLarge, 'The request body is larger than the service accepts (BODY_LIMIT).')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError(
        error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? ErrorCode.UnsupportedMediaType : ErrorCode.BadRequest,
        error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'Send the body as application/json.'
          : 'The Content-Length header does not match the body.',
      )
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError(ErrorCode.MalformedJson, 'The body is not valid JSON.')
  }
  if (error.statusCode === 400 && (error instanceof SyntaxError || /JSON/i.test(error.message))) {
    return new AppError(ErrorCode.MalformedJson, 'The body is not valid JSON.')
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return new AppError(codeForStatus(error.statusCode), error.message)
  }
  return new AppError(ErrorCode.Internal, 'An unexpected error occurred; the log has the details under this request id.')
}

/**
 * Every error becomes RFC 9457 problem details. Unknown paths answer 404 and known paths with
 * another method 405 with `Allow`: Fastify itself answers 404 for both, so a shadow router of
 * every registered route tells the two apart.
 */
export const problemPlugin = fp(
  async (app: FastifyInstance) => {
    const shadow = FindMyWay({ ignoreTrailingSlash: true })
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method]
      for (const method of methods) {
        if (method === 'HEAD' || shadow.hasRoute(method as 'GET', route.url)) continue
        shadow.on(method as 'GET', route.url, () => {})
      }
    })

    // Each problem's `type` (/problems/<code>) resolves to what it means.
    app.get<{ Params: { code: string } }>(
      '/problems/:code',
      { config: { access: 'public' }, schema: { hide: true } },
      async (request) => {
        const code = request.params.code as ErrorCode
        const kind = Object.hasOwn(PROBLEMS, code) ? PROBLEMS[code] : null
        if (!kind) throw new AppError(ErrorCode.NotFound, `No problem type ${JSON.stringify(request.params.code)}.`)
        return { type: `/problems/${code}`, ...kind }
      },
    )

    app.setErrorHandler((error: FastifyError, request, reply) => {
      const appError = toAppError(error)
      if (appError.status >= 500) {
        request.log.error({ err: error }, 'request failed')
      }
      return sendProblem(request, reply, appError)
    })

    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0]!
      const allowed: string[] = (['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const).filter((method) => shadow.find(method, path))
      // HEAD is answered wherever GET is.
      if (allowed.includes('GET')) allowed.splice(1, 0, 'HEAD')
      if (allowed.length > 0) {
        reply.header('allow', allowed.join(', '))
        return sendProblem(
          request,
          reply,
          new AppError(ErrorCode.MethodNotAllowed, `${request.method} is not allowed here; allowed: ${allowed.join(', ')}.`),
        )
      }
      return sendProblem(request, reply, new AppError(ErrorCode.NotFound, `No route for ${request.method} ${path}.`))
    })
  },
  { name: 'problems' },
)
