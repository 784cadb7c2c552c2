export interface Agent {
  id: string
  name: string
  address: string | null
  created_at: string
}

export interface Conversation {
  id: string
  title: string
  description: string | null
  archived: boolean
  updated_at: string
}

export interface Mail {
  id: string
  from: string
  to: { agent_id: string; read_at: string | null }[]
  content: string
  type: string
  importance: number
  conversation_id?: string | null
  created_at: string
}

export interface InboxItem extends Mail {
  direction: 'received' | 'sent'
  read_at: string | null
}
