export interface ChatSession {
  id: string
  user_id: string
  name: string | null
  character_id: string | null
  unanswered_message_id: string | null
  last_activity_at: string
  created_at: string
}

export type MessageStatus = 'pending' | 'in_progress' | 'complete' | 'failed' | 'cancelled'

export interface ChatMessage {
  id: string
  session_id: string
  sender: 'user' | 'ai' | 'system' | 'tool'
  content: string
  partial_content: string
  status: MessageStatus
  error_message: string | null
  model: string | null
  created_at: string
}

export interface Character {
  id: string
  name: string
  agent_role: string
  model: string | null
  memory: { enabled: boolean; top_k: number }
}

/** An AI message a generation may still be writing. */
export const unfinished = (message: ChatMessage) => message.sender === 'ai' && (message.status === 'pending' || message.status === 'in_progress')
/** An AI message POST /v1/sessions/{id}/resume continues. */
export const resumable = (message: ChatMessage) => message.sender === 'ai' && (message.status === 'failed' || message.status === 'cancelled')
