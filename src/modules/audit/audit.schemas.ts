import { Type, type Static, type TSchema } from 'typebox'

const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

export const AuditEntry = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    gpt_id: nullable(Type.String()),
    account_id: nullable(Type.String({ format: 'uuid' })),
    principal: Type.Object({
      kind: Type.String({ description: 'admin, key, account or anonymous' }),
      id: nullable(Type.String()),
    }),
    action: Type.String({ description: "The route's operationId for a request, the event's name for an identity event." }),
    targets: Type.Record(Type.String(), Type.String(), { description: 'The ids the action was about (the path\'s, or the event\'s).' }),
    status: Type.Integer(),
    duration_ms: nullable(Type.Number()),
    request_id: nullable(Type.String()),
    ip: nullable(Type.String()),
    user_agent: nullable(Type.String()),
    request: Type.Unknown({ description: 'The query and body, sanitized: secrets redacted, long text cut.' }),
    created_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'AuditEntry' },
)
export type AuditView = Static<typeof AuditEntry>

export const AuditList = Type.Object({
  audit: Type.Array(AuditEntry),
  next_cursor: nullable(Type.String()),
  has_more: Type.Boolean(),
})

export const auditFilterSchema = {
  principal_kind: Type.Optional(Type.Union(['admin', 'key', 'account', 'app', 'end_user', 'anonymous'].map((kind) => Type.Literal(kind)))),
  principal_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'A key id or an account id.' })),
  action: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'An operationId (`getObject`) or an event (`login.failed`).' })),
  status: Type.Optional(Type.Union([Type.Literal('2xx'), Type.Literal('3xx'), Type.Literal('4xx'), Type.Literal('5xx')])),
  created_after: Type.Optional(Type.String({ format: 'date-time' })),
  created_before: Type.Optional(Type.String({ format: 'date-time' })),
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('ndjson')], { description: 'ndjson: every matching row, streamed (as `Accept: application/x-ndjson`).' })),
}

export interface AuditQuery {
  limit?: number
  cursor?: string
  order?: 'asc' | 'desc'
  principal_kind?: string
  principal_id?: string
  action?: string
  status?: string
  created_after?: string
  created_before?: string
}
