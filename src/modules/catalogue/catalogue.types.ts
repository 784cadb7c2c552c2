import type { Static, TObject } from 'typebox'
import type { GptPrincipal, Scope } from '../../platform/auth/principal.js'

/** The parts of Agentstore an operation belongs to; a GPT's Action spec exposes a choice of them. */
export const GROUPS = ['collections', 'memories', 'search', 'chat', 'mail'] as const
export type Group = (typeof GROUPS)[number]

/** How a list or search answer can be cut down to fit a size budget (GPT Actions refuse answers over 100,000 characters). */
export interface ListShape {
  /** The member holding the array of items. */
  items: string
  /** Members of an item whose long text may be shortened (with a marker) before items are dropped. */
  text: string[]
}

/**
 * One agent-facing operation, described once: the MCP server serves it as a tool, the Action spec
 * generator as an HTTP operation. Rules (tenancy, scopes, agent-bound keys, the mail party rule) are
 * not here: `scope`/`agentKeys` feed the same key check as the HTTP routes, and `run` calls a service.
 */
export interface Operation<I extends TObject = TObject, O extends TObject = TObject> {
  /** snake_case, also the MCP tool name and the Action operationId. */
  name: string
  title: string
  /** What it does, for a model; at most 300 characters (an Action summary). */
  description: string
  group: Group
  input: I
  output: O
  scope: Scope
  /** Keys bound to an agent may call it (the service then checks which agent). */
  agentKeys?: boolean
  /** An end user's access token may call it: the service confines it to that user's own data. */
  endUsers?: boolean
  /** Only reads. */
  readOnly: boolean
  /** Deletes or overwrites data that cannot be had back. */
  destructive: boolean
  /** Acts outside the GPT's own store or cannot be undone (an Action asks the user before calling it). */
  consequential: boolean
  list?: ListShape
  run(principal: GptPrincipal, input: Static<I>): Promise<Static<O>>
}

/** Keeps each operation's input and output types tied to its schemas while the catalogue holds them all alike. */
export function defineOperation<I extends TObject, O extends TObject>(operation: Operation<I, O>): Operation {
  return operation as unknown as Operation
}
