import type { FastifySchemaCompiler } from 'fastify'
import { Ajv } from 'ajv'
import addFormatsModule from 'ajv-formats'

// ajv-formats is CommonJS; under NodeNext its callable export sits on `.default`.
export const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv) => Ajv }).default

const makeAjv = (coerceTypes: false | 'array') =>
  addFormats(new Ajv({ removeAdditional: false, useDefaults: true, allErrors: true, coerceTypes }))

/**
 * Request validation. JSON bodies are checked as sent (`{"id": 42}` is a 422, not the string "42");
 * query strings, params and headers are text on the wire, so they are coerced to the schema's types.
 */
export function requestValidatorCompiler(): FastifySchemaCompiler<object> {
  const bodyAjv = makeAjv(false)
  const textAjv = makeAjv('array')
  return ({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema)
}
