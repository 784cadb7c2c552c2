import { useEffect, useState } from 'preact/hooks'
import { call, describeFailure } from '../api.js'
import { GptNav, gptHref } from '../gpt-nav.js'
import { html } from '../html.js'
import { readEvents } from '../sse.js'
import { MailList } from './mail-list.js'
import type { Agent, InboxItem } from './types.js'

const LIVE_TEXT = { connecting: 'Connecting…', live: 'Live: new mail appears here', ended: 'Not live: reload the page' }

/** An agent's inbox, newest first, kept live: mail delivered while the page is open appears at once. */
export function Inbox({ gptId, agentId }: { gptId: string; agentId: string }) {
  const [agents, setAgents] = useState<Agent[]>([])
  const [mail, setMail] = useState<InboxItem[] | null>(null)
  const [live, setLive] = useState<keyof typeof LIVE_TEXT>('connecting')
  const [error, setError] = useState('')
  const [arrived, setArrived] = useState('')

  useEffect(() => {
    const controller = new AbortController()
    const failed = (failure: unknown) => controller.signal.aborted || setError(describeFailure(failure))
    const merge = (items: InboxItem[]) =>
      setMail((shown) => {
        const byId = new Map((shown ?? []).map((item) => [item.id, item]))
        for (const item of items) byId.set(item.id, item)
        return [...byId.values()].sort((a, b) => b.created_at.localeCompare(a.created_at))
      })
    call<{ agents: Agent[] }>('GET', `/v1/gpts/${encodeURIComponent(gptId)}/agents?limit=100`, undefined, { gpt: gptId }).then((page) => setAgents(page.agents), failed)
    let listed = false
    const list = () => {
      if (listed || controller.signal.aborted) return
      listed = true
      call<{ mail: InboxItem[] }>('GET', `/v1/agents/${agentId}/inbox?include=sent&limit=100`, undefined, { gpt: gptId }).then((page) => merge(page.mail), failed)
    }
    // The list is read once the stream is open, so that a mail delivered in between is in one or the
    // other; the page says it is live only then. A stream refused or ended still leaves the list read.
    const open = () => {
      setLive('live')
      list()
    }
    readEvents('GET', `/v1/agents/${agentId}/inbox/stream`, { gpt: gptId, signal: controller.signal, onOpen: open }, (event) => {
      if (event.event !== 'mail') return
      const item = JSON.parse(event.data) as InboxItem
      merge([item])
      setArrived(item.from)
    })
      .catch(failed)
      .finally(() => {
        list()
        if (!controller.signal.aborted) setLive('ended')
      })
    return () => controller.abort()
  }, [gptId, agentId])

  const names = Object.fromEntries(agents.map((agent) => [agent.id, agent.name]))
  const agentName = names[agentId] ?? agentId
  return html`
    <${GptNav} gptId=${gptId} current="mail" />
    <h1 tabindex="-1">Inbox of ${agentName}</h1>
    <p><a href=${gptHref(gptId, 'mail')}>Back to the mail</a> · <span class=${live === 'live' ? 'live' : 'muted'}>${LIVE_TEXT[live]}</span></p>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    <p role="status" class="status">${arrived && `New mail from ${names[arrived] ?? arrived}.`}</p>
    ${mail === null && !error && html`<p role="status">Loading the inbox…</p>`}
    ${mail !== null && mail.length === 0 && html`<p>No mail yet.</p>`}
    ${mail !== null && html`<${MailList} mail=${mail} names=${names} label="Inbox, newest first" />`}
  `
}
