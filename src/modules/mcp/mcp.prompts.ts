import type { GetPromptResult, Prompt } from '@modelcontextprotocol/sdk/types.js'
import { authorizeKey } from '../../platform/auth/authorize.js'
import type { GptPrincipal } from '../../platform/auth/principal.js'
import { AppError, ERR } from '../../platform/errors.js'
import type { CharactersService } from '../characters/characters.service.js'

export type CharacterPrompts = Pick<CharactersService, 'listCharacters' | 'getCharacter'>

/** Most characters one prompt list shows (a page of the characters list). */
const MAX_PROMPTS = 100
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * The GPT's characters as MCP prompts: each one's system prompt, to start a conversation as that
 * character. Reading them needs what reading characters over HTTP needs (a read key not bound to an agent).
 */
export function characterPrompts(characters: CharacterPrompts, principal: GptPrincipal) {
  const allowed = () => {
    authorizeKey(principal, { scope: 'read' })
  }
  return {
    async list(): Promise<Prompt[]> {
      try {
        allowed()
      } catch (error) {
        if (error instanceof AppError) return []
        throw error
      }
      const page = await characters.listCharacters(principal.gptId, { limit: MAX_PROMPTS, order: 'asc' })
      return page.items.map((character) => ({
        name: character.id,
        title: character.name,
        description: `Talk with the character "${character.name}" (its system prompt as the first message).`,
        arguments: [{ name: 'message', description: 'What the user says first (optional).', required: false }],
      }))
    },
    async get(name: string, args: Record<string, string>): Promise<GetPromptResult> {
      allowed()
      if (!UUID.test(name)) throw ERR.notFound('Character', name)
      const character = await characters.getCharacter(principal.gptId, name)
      const messages: GetPromptResult['messages'] = [
        { role: 'user', content: { type: 'text', text: `From now on, act as this character:\n\n${character.agent_role}` } },
      ]
      if (args.message) messages.push({ role: 'user', content: { type: 'text', text: args.message } })
      return { description: `The character "${character.name}"`, messages }
    },
  }
}
