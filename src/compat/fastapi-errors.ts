import type { FastifyError } from 'fastify'
import { AppError, ErrorCode, type FieldError } from '../platform/errors.js'
import { fieldErrorsFromAjv } from '../platform/http/problem.plugin.js'

/**
 * Any error of a compat route as the house error it stands for, so that the surfaces modelled on
 * FastAPI services (the chat store, FastWrap) can each answer it in their own `{"detail": …}` shape.
 */
export function compatAppError(error: FastifyError & { validation?: Parameters<typeof fieldErrorsFromAjv>[0]; validationContext?: string }): AppError {
  if (error instanceof AppError) return error
  if (error.validation) {
    const location = ({ body: 'body', querystring: 'query', params: 'params', headers: 'headers' } as const)[error.validationContext as 'body'] ?? 'body'
    return new AppError(ErrorCode.ValidationFailed, 'invalid', { errors: fieldErrorsFromAjv(error.validation, location) })
  }
  if (error.statusCode === 400) return new AppError(ErrorCode.MalformedJson, 'JSON decode error')
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) return new AppError(ErrorCode.BadRequest, error.message)
  return new AppError(ErrorCode.Internal, 'Internal server error')
}

/** Invalid input as pydantic listed it: `{type, loc: ["body", "field"], msg}` (`missing` for an absent field). */
export function fastApiValidationItems(errors: FieldError[]) {
  return errors.map((error) => {
    const where = error.location === 'query' ? 'query' : error.location === 'params' ? 'path' : error.location === 'headers' ? 'header' : 'body'
    const missing = error.message === 'Field required' || /must have required property/.test(error.message)
    return { type: missing ? 'missing' : 'value_error', loc: [where, ...error.pointer.split('/').slice(1)], msg: error.message }
  })
}
