import { ERR } from '../errors.js'
import type { GptPrincipal, Scope } from './principal.js'

const FOR_ANOTHER_GPT: Record<GptPrincipal['kind'], string> = {
  key: 'This API key belongs to another GPT.',
  token: 'This access token is for another GPT.',
  owner: 'The Agentstore-GPT header names another GPT than this path.',
}

/** What an operation asks of the calling key: the tenant it names (if any), a scope, and whether agent-bound keys may call it. */
export interface KeyRequirement {
  gptId?: string
  scope: Scope
  agentKeys?: boolean
  /** An end user's access token may call it (the service then narrows it to that user's own data). */
  endUsers?: boolean
}

/**
 * The key checks every GPT-data operation passes before any work is done: the HTTP routes (through
 * the auth plugin) and the catalogue's MCP tools and Action operations call this same function.
 */
export function authorizeKey(principal: GptPrincipal, need: KeyRequirement): void {
  const credential = principal.kind === 'key' ? 'API key' : principal.kind === 'owner' ? 'credential' : 'access token'
  if (need.gptId !== undefined && need.gptId !== principal.gptId) {
    throw ERR.forbidden(FOR_ANOTHER_GPT[principal.kind])
  }
  if (principal.agentId !== null && !need.agentKeys) {
    throw ERR.forbidden('This key is bound to an agent: it can only send and read that agent\'s mail, inbox and conversations.')
  }
  if (principal.kind === 'token' && principal.endUserId !== null && !need.endUsers) {
    throw ERR.forbidden("An end user's access token cannot use this operation: it reaches only that user's own chats, memories, search and documents.")
  }
  if (!principal.scopes.includes(need.scope)) {
    throw ERR.forbidden(`This ${credential} lacks the "${need.scope}" scope.`)
  }
}
