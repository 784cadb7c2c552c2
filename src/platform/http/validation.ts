import type { FastifySchemaCompiler } from 'fastify'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'

// ajv-formats is CommonJS; under NodeNext its callable export sits on `.default`.
export const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv) => Ajv }).default

const makeAjv = (coerceTypes: false | 'array') =>
  addFormats(new Ajv({ removeAdditional: false, useDefaults: true, allErrors: true, coerceTypes }))

/** The members (as JSON pointers) holding a number that is not finite. */
function nonFiniteMembers(value: unknown, pointer = ''): string[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [pointer]
  if (typeof value !== 'object' || value === null) return []
  return Object.entries(value).flatMap(([key, member]) => nonFiniteMembers(member, `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`))
}

/**
 * ajv coerces text such as "1e309" or "Infinity" to ±Infinity and then skips every numeric check
 * (`minimum`, `maximum`, integer-ness) for a value that is not finite, so the coerced part is
 * checked once more: no text becomes a number the rest of the service cannot use.
 */
function finiteOnly(validate: ValidateFunction): ValidateFunction {
  const checked = ((data: unknown, context?: Parameters<ValidateFunction>[1]) => {
    if (!validate(data, context)) {
      checked.errors = validate.errors
      return false
    }
    const errors: ErrorObject[] = nonFiniteMembers(data).map((instancePath) => ({
      instancePath,
      schemaPath: '#',
      keyword: 'type',
      params: { type: 'number' },
      message: 'must be a finite number',
    }))
    checked.errors = errors.length > 0 ? errors : null
    return errors.length === 0
  }) as ValidateFunction
  // Fastify passes the parent to validators that carry schemaEnv, so that ajv may replace the root.
  return Object.assign(checked, { schema: validate.schema, schemaEnv: validate.schemaEnv })
}

/**
 * Request validation. JSON bodies are checked as sent (`{"id": 42}` is a 422, not the string "42");
 * query strings, params and headers are text on the wire, so they are coerced to the schema's types.
 */
export function requestValidatorCompiler(): FastifySchemaCompiler<object> {
  const bodyAjv = makeAjv(false)
  const textAjv = makeAjv('array')
  return ({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv.compile(schema) : finiteOnly(textAjv.compile(schema)))
}
