import { useEffect, useState } from 'preact/hooks'
import { call, describeFailure } from '../api.js'
import { GptNav, gptHref } from '../gpt-nav.js'
import { html } from '../html.js'
import { MailList } from './mail-list.js'
import type { Conversation, Mail } from './types.js'

interface Details {
  conversation: Conversation
  messages: Mail[]
  agents: { id: string; name: string }[]
  total_messages: number
  unread_count: number | Record<string, number>
}

/** A conversation with its mail (oldest first), the agents taking part and what each has not read. */
export function ConversationPage({ gptId, conversationId }: { gptId: string; conversationId: string }) {
  const [details, setDetails] = useState<Details | null>(null)
  const [error, setError] = useState('')
  useEffect(() => {
    call<Details>('GET', `/v1/conversations/${conversationId}/details`, undefined, { gpt: gptId }).then(setDetails, (failure: unknown) => setError(describeFailure(failure)))
  }, [gptId, conversationId])

  const names = Object.fromEntries((details?.agents ?? []).map((agent) => [agent.id, agent.name]))
  const unread = (id: string) => (details && typeof details.unread_count === 'object' ? (details.unread_count[id] ?? 0) : 0)
  return html`
    <${GptNav} gptId=${gptId} current="mail" />
    <h1 tabindex="-1">${details?.conversation.title ?? 'Conversation'}</h1>
    <p><a href=${gptHref(gptId, 'mail')}>Back to the mail</a></p>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    ${details === null && !error && html`<p role="status">Loading the conversation…</p>`}
    ${details &&
    html`
      ${details.conversation.description && html`<p>${details.conversation.description}</p>`}
      <div class="scroll" tabindex="0" role="region" aria-label="Agents taking part">
        <table>
          <caption>Agents taking part</caption>
          <thead><tr><th scope="col">Agent</th><th scope="col">Unread</th></tr></thead>
          <tbody>
            ${details.agents.map((agent) => html`<tr key=${agent.id}><th scope="row">${agent.name}</th><td class="number">${unread(agent.id)}</td></tr>`)}
          </tbody>
        </table>
      </div>
      <h2>${details.total_messages} ${details.total_messages === 1 ? 'message' : 'messages'}</h2>
      <${MailList} mail=${details.messages} names=${names} label="Messages, oldest first" />
    `}
  `
}
