import { useEffect, useState } from 'preact/hooks'
import { call, describeFailure } from '../api.js'
import { GptNav, gptHref } from '../gpt-nav.js'
import { html } from '../html.js'
import { outcomeText, useGeneration, type Live } from './live.js'
import { resumable, unfinished, type ChatMessage, type ChatSession } from './types.js'

const SHOWN = 100
const SENDERS: Record<ChatMessage['sender'], string> = { user: 'User', ai: 'AI', system: 'System', tool: 'Tool' }

function Message({ message, live }: { message: ChatMessage; live: Live | null }) {
  const streaming = live !== null && live.messageId === message.id
  const text = streaming ? live.text : message.sender === 'ai' && message.status !== 'complete' ? message.partial_content : message.content
  const status = streaming ? live.outcome : message.status
  return html`
    <li class=${`message ${message.sender}`} aria-busy=${streaming && live.outcome === 'streaming' ? 'true' : undefined}>
      <p class="meta">
        <strong>${SENDERS[message.sender]}</strong> · <time datetime=${message.created_at}>${new Date(message.created_at).toLocaleString()}</time>
        ${message.sender === 'ai' && status !== 'complete' && status !== 'done' && html` · <span class="badge">${status.replace('_', ' ')}</span>`}
      </p>
      <p class="text">${text || html`<em>(no text yet)</em>`}</p>
      ${message.error_message && !streaming && html`<p class="error">${message.error_message}</p>`}
    </li>
  `
}

/** One chat session: its transcript, a new turn generated live, reattached after a reload, stopped or resumed. */
export function Transcript({ gptId, sessionId }: { gptId: string; sessionId: string }) {
  const [session, setSession] = useState<ChatSession | null>(null)
  const [messages, setMessages] = useState<ChatMessage[] | null>(null)
  const [older, setOlder] = useState(false)
  const [error, setError] = useState('')
  const load = async () => {
    // The latest turns (newest first from the API, shown oldest first): a long session starts where it is now.
    const page = await call<{ messages: ChatMessage[]; has_more: boolean }>('GET', `/v1/sessions/${sessionId}/messages?limit=${SHOWN}&order=desc`, undefined, { gpt: gptId })
    const latest = [...page.messages].reverse()
    setMessages(latest)
    setOlder(page.has_more)
    setSession(await call<ChatSession>('GET', `/v1/sessions/${sessionId}`, undefined, { gpt: gptId }))
    return latest
  }
  const reload = () => void load().catch((failure: unknown) => setError(describeFailure(failure)))
  const { live, follow } = useGeneration(gptId, reload)

  useEffect(() => {
    load().then((found) => {
      // A generation still running (the page was reloaded, or opened elsewhere): follow it from what is stored.
      const running = [...found].reverse().find(unfinished)
      if (running) void follow('GET', `/v1/messages/${running.id}/stream`, { lastEventId: String(running.partial_content.length) })
    }, (failure: unknown) => setError(describeFailure(failure)))
  }, [gptId, sessionId])

  const streaming = live?.outcome === 'streaming'
  const lastAi = messages ? [...messages].reverse().find((message) => message.sender === 'ai') : undefined
  // The live message before the stored list has it (its first event comes before the list is read again).
  const shown = messages ?? []
  const pendingLive = live && live.messageId && !shown.some((message) => message.id === live.messageId) ? live : null

  async function send(event: Event) {
    event.preventDefault()
    const form = event.currentTarget as HTMLFormElement
    const content = String(new FormData(form).get('content') ?? '').trim()
    if (!content) return setError('Write a message first.')
    setError('')
    try {
      await call('POST', `/v1/sessions/${sessionId}/messages`, { sender: 'user', content }, { gpt: gptId })
      form.reset()
      await load()
      await follow('POST', `/v1/sessions/${sessionId}/generate`, { body: {} })
    } catch (failure) {
      setError(describeFailure(failure))
    }
  }

  async function stop() {
    if (!live?.messageId) return
    await call('POST', `/v1/messages/${live.messageId}/cancel`, undefined, { gpt: gptId }).catch((failure: unknown) => setError(describeFailure(failure)))
  }

  return html`
    <${GptNav} gptId=${gptId} current="chat" />
    <h1 tabindex="-1">Chat with ${session?.user_id ?? '…'}</h1>
    <p><a href=${gptHref(gptId, 'chat')}>Back to the sessions</a>${session?.name ? html` · ${session.name}` : ''}</p>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    <p role="status" class="status">${live ? (live.outcome === 'error' ? `${outcomeText.error} ${live.error}` : outcomeText[live.outcome]) : ''}</p>
    ${messages === null && !error && html`<p role="status">Loading the transcript…</p>`}
    ${older && html`<p class="muted">The latest ${SHOWN} messages; older ones are not shown.</p>`}
    <ol class="transcript" aria-label="Transcript">
      ${shown.map((message) => html`<${Message} key=${message.id} message=${message} live=${live} />`)}
      ${pendingLive &&
      html`<li class="message ai" aria-busy="true"><p class="meta"><strong>AI</strong> · <span class="badge">streaming</span></p><p class="text">${pendingLive.text}</p></li>`}
    </ol>
    ${messages !== null && messages.length === 0 && html`<p>No messages yet.</p>`}
    <div class="row">
      ${streaming && html`<button type="button" class="danger" onClick=${stop} disabled=${!live?.messageId}>Stop generating</button>`}
      ${!streaming && lastAi && resumable(lastAi) &&
      html`<button type="button" onClick=${() => follow('POST', `/v1/sessions/${sessionId}/resume`, { body: {} })}>Resume the reply</button>`}
      ${!streaming && session?.unanswered_message_id && !(lastAi && resumable(lastAi)) &&
      html`<button type="button" onClick=${() => follow('POST', `/v1/sessions/${sessionId}/generate`, { body: {} })}>Generate a reply</button>`}
    </div>
    <form class="card wide" onSubmit=${send} aria-labelledby="send-title">
      <h2 id="send-title">Send a message</h2>
      <label for="chat-content">Message as ${session?.user_id ?? 'the user'}</label>
      <textarea id="chat-content" name="content" rows="3" maxlength="100000"></textarea>
      <button type="submit" disabled=${streaming}>Send and generate</button>
    </form>
  `
}
