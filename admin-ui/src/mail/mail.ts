import { useEffect, useState } from 'preact/hooks'
import { call, describeFailure } from '../api.js'
import { GptNav, gptHref } from '../gpt-nav.js'
import { html } from '../html.js'
import type { Agent, Conversation } from './types.js'

/** A GPT's mail: its agents (each with a live inbox) and its conversations. */
export function MailHome({ gptId }: { gptId: string }) {
  const [agents, setAgents] = useState<Agent[] | null>(null)
  const [conversations, setConversations] = useState<Conversation[] | null>(null)
  const [error, setError] = useState('')
  const gpt = encodeURIComponent(gptId)

  useEffect(() => {
    const failed = (failure: unknown) => setError(describeFailure(failure))
    call<{ agents: Agent[] }>('GET', `/v1/gpts/${gpt}/agents?limit=100`, undefined, { gpt: gptId }).then((page) => setAgents(page.agents), failed)
    call<{ conversations: Conversation[] }>('GET', `/v1/gpts/${gpt}/conversations?limit=100`, undefined, { gpt: gptId }).then((page) => setConversations(page.conversations), failed)
  }, [gptId])

  return html`
    <${GptNav} gptId=${gptId} current="mail" />
    <h1 tabindex="-1">Mail of <code>${gptId}</code></h1>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    ${agents === null && !error && html`<p role="status">Loading agents…</p>`}
    ${agents !== null &&
    html`
      <div class="scroll">
        <table>
          <caption>Agents</caption>
          <thead><tr><th scope="col">Agent</th><th scope="col">Address</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            ${agents.length === 0 && html`<tr><td colspan="4">No agents.</td></tr>`}
            ${agents.map(
              (agent) => html`
                <tr key=${agent.id}>
                  <th scope="row">${agent.name}</th>
                  <td>${agent.address ?? ''}</td>
                  <td>${new Date(agent.created_at).toLocaleString()}</td>
                  <td><a href=${gptHref(gptId, 'mail', `/agents/${agent.id}`)}>Inbox<span class="visually-hidden"> of ${agent.name}</span></a></td>
                </tr>
              `,
            )}
          </tbody>
        </table>
      </div>
    `}
    ${conversations !== null &&
    html`
      <div class="scroll">
        <table>
          <caption>Conversations</caption>
          <thead><tr><th scope="col">Title</th><th scope="col">Description</th><th scope="col">Updated</th><th scope="col">State</th></tr></thead>
          <tbody>
            ${conversations.length === 0 && html`<tr><td colspan="4">No conversations.</td></tr>`}
            ${conversations.map(
              (conversation) => html`
                <tr key=${conversation.id}>
                  <th scope="row"><a href=${gptHref(gptId, 'mail', `/conversations/${conversation.id}`)}>${conversation.title}</a></th>
                  <td>${conversation.description ?? ''}</td>
                  <td>${new Date(conversation.updated_at).toLocaleString()}</td>
                  <td>${conversation.archived ? 'archived' : 'open'}</td>
                </tr>
              `,
            )}
          </tbody>
        </table>
      </div>
    `}
  `
}
