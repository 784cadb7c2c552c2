import { Type } from 'typebox'

export const Problem = Type.Object(
  {
    type: Type.String({ description: 'URI reference naming the kind of problem.' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String(),
    request_id: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          pointer: Type.String({ description: 'JSON pointer to the offending member.' }),
          message: Type.String(),
          location: Type.Optional(Type.String()),
          line: Type.Optional(Type.Integer({ description: 'Line of an NDJSON import.' })),
          record: Type.Optional(Type.String({ description: 'Record type of that line, in a GPT archive import.' })),
        }),
      ),
    ),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details (application/problem+json).' },
)

const DESCRIPTIONS: Record<number, string> = {
  400: 'Bad request',
  401: 'Missing or invalid credentials',
  403: 'Credentials of another GPT, or a missing scope',
  404: 'Not found',
  409: 'Conflict',
  412: 'Precondition failed',
  413: 'Body too large',
  415: 'Unsupported media type',
  422: 'Validation failed',
  429: 'Rate limited',
}

/** Problem responses for a route's OpenAPI entry. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [status, { ...Problem, description: DESCRIPTIONS[status] ?? 'Problem' }]),
  ) as Record<number, typeof Problem>
}
