import { Type, type Static } from 'typebox'

export const AgentId = Type.String({ format: 'uuid', description: 'Agent id.' })
export const AgentParams = Type.Object({ id: AgentId })

const Metadata = Type.Object({}, { additionalProperties: true, description: 'Free JSON object.' })
export const Address = Type.String({
  minLength: 1,
  maxLength: 253,
  description: 'An IPv4/IPv6 address or a host name.',
  anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }, { format: 'hostname' }],
})
const Port = Type.Integer({ minimum: 1, maximum: 65535 })

export const CreateAgentBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    address: Type.Optional(Type.Union([Address, Type.Null()])),
    port: Type.Optional(Type.Union([Port, Type.Null()])),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
)
export type CreateAgentInput = Static<typeof CreateAgentBody>

export const PatchAgentBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    address: Type.Optional(Type.Union([Address, Type.Null()])),
    port: Type.Optional(Type.Union([Port, Type.Null()])),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type PatchAgentInput = Static<typeof PatchAgentBody>

export const Agent = Type.Object({
  id: Type.String({ format: 'uuid' }),
  gpt_id: Type.String(),
  name: Type.String(),
  address: Type.Union([Type.String(), Type.Null()]),
  port: Type.Union([Type.Integer(), Type.Null()]),
  metadata: Type.Object({}, { additionalProperties: true }),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
})
export type AgentView = Static<typeof Agent>

export const AgentList = Type.Object({
  agents: Type.Array(Agent),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  has_more: Type.Boolean(),
})
