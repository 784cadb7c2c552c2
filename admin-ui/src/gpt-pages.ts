import { Apps, AppSessions } from './apps.js'
import { Audit } from './audit.js'
import { Sessions } from './chat/sessions.js'
import { Transcript } from './chat/transcript.js'
import { Connect } from './connect.js'
import { html } from './html.js'
import './gpt-pages.css'
import { ConversationPage } from './mail/conversation.js'
import { Inbox } from './mail/inbox.js'
import { MailHome } from './mail/mail.js'

/** The page of a GPT a hash names (#/gpts/{id}/chat, …/mail/agents/{id}, …), or null for another hash. */
export function gptPage(hash: string) {
  const match = /^#\/gpts\/([^/]+)\/(chat|mail|audit|connect|apps)(?:\/(agents|conversations)?\/?([^/]+))?$/.exec(hash)
  if (!match) return null
  const [, gpt, page, kind, id] = match
  const gptId = decodeURIComponent(gpt!)
  if (page === 'chat') return id ? html`<${Transcript} key=${id} gptId=${gptId} sessionId=${id} />` : html`<${Sessions} gptId=${gptId} />`
  if (page === 'mail' && kind === 'agents' && id) return html`<${Inbox} key=${id} gptId=${gptId} agentId=${id} />`
  if (page === 'mail' && kind === 'conversations' && id) return html`<${ConversationPage} key=${id} gptId=${gptId} conversationId=${id} />`
  if (page === 'mail' && !id) return html`<${MailHome} gptId=${gptId} />`
  if (page === 'audit' && !id) return html`<${Audit} gptId=${gptId} />`
  if (page === 'connect' && !id) return html`<${Connect} gptId=${gptId} />`
  if (page === 'apps' && !kind) return id ? html`<${AppSessions} key=${id} gptId=${gptId} appId=${id} />` : html`<${Apps} gptId=${gptId} />`
  return null
}
