export type { ChatRole, ChatTurn, GenerateRequest, LlmProvider, LlmProviderName, LlmSettings } from './llm.js'
export { DEFAULT_MODELS } from './llm.js'
export { LlmConfigError, LlmError, type LlmErrorCode } from './llm-error.js'
export { createLlmProvider, resolveLlmProviderName } from './create-llm-provider.js'
// The provider classes are not re-exported: importing them loads their SDKs (createLlmProvider does, when configured).
export type { OpenAiProviderOptions } from './openai.provider.js'
export type { AnthropicProviderOptions } from './anthropic.provider.js'
export { CONTINUE_INSTRUCTION } from './continuation.js'
export { OfflineProvider, offlineReply, offlineTokens, OFFLINE_RESTART_SEPARATOR } from './offline.provider.js'
