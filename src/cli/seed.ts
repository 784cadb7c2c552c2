import type { Services } from '../services.js'
import { AppError, ErrorCode } from '../platform/errors.js'

export const SEED_GPT_ID = 'test-gpt'

/**
 * Creates (or reuses) GPT `test-gpt` and issues a fresh key for it: never a fixed, well-known key.
 */
export async function seed(services: Services) {
  let created = true
  try {
    await services.gpts.createGpt({ id: SEED_GPT_ID, name: 'Test GPT', description: 'Sample data made by `agentstore seed`.' })
  } catch (error) {
    if (!(error instanceof AppError && error.code === ErrorCode.Conflict)) throw error
    created = false
  }
  const key = await services.keys.createKey(SEED_GPT_ID, { name: 'seed', scopes: ['read', 'write', 'admin'] })
  return { gpt_id: SEED_GPT_ID, gpt_created: created, key }
}
