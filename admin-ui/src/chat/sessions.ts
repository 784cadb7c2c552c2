import { useEffect, useState } from 'preact/hooks'
import { call, describeFailure } from '../api.js'
import { GptNav, gptHref } from '../gpt-nav.js'
import { html } from '../html.js'
import type { Character, ChatSession } from './types.js'

/** A GPT's chat sessions, per end user, and its characters; a new session opens its transcript. */
export function Sessions({ gptId }: { gptId: string }) {
  const [sessions, setSessions] = useState<ChatSession[] | null>(null)
  const [characters, setCharacters] = useState<Character[]>([])
  const [user, setUser] = useState('')
  const [next, setNext] = useState<string | null>(null)
  const [error, setError] = useState('')

  const load = (cursor: string | null, shown: ChatSession[]) => {
    const query = `limit=50${user ? `&user_id=${encodeURIComponent(user)}` : ''}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
    call<{ sessions: ChatSession[]; next_cursor: string | null }>('GET', `/v1/gpts/${encodeURIComponent(gptId)}/sessions?${query}`, undefined, { gpt: gptId }).then(
      (page) => {
        setSessions([...shown, ...page.sessions])
        setNext(page.next_cursor)
      },
      (failure: unknown) => setError(describeFailure(failure)),
    )
  }
  useEffect(() => load(null, []), [gptId, user])
  useEffect(() => {
    call<{ characters: Character[] }>('GET', `/v1/gpts/${encodeURIComponent(gptId)}/characters?limit=100`, undefined, { gpt: gptId }).then(
      (page) => setCharacters(page.characters),
      (failure: unknown) => setError(describeFailure(failure)),
    )
  }, [gptId])

  const characterName = (id: string | null) => (id ? (characters.find((character) => character.id === id)?.name ?? 'deleted') : 'none')

  function filter(event: Event) {
    event.preventDefault()
    setUser(String(new FormData(event.currentTarget as HTMLFormElement).get('user') ?? '').trim())
  }

  async function create(event: Event) {
    event.preventDefault()
    const data = new FormData(event.currentTarget as HTMLFormElement)
    const characterId = String(data.get('character') ?? '')
    setError('')
    try {
      const body = { user_id: String(data.get('user_id') ?? '').trim(), ...(characterId ? { character_id: characterId } : {}) }
      const created = await call<ChatSession>('POST', `/v1/gpts/${encodeURIComponent(gptId)}/sessions`, body, { gpt: gptId })
      location.hash = gptHref(gptId, 'chat', `/${created.id}`)
    } catch (failure) {
      setError(describeFailure(failure))
    }
  }

  return html`
    <${GptNav} gptId=${gptId} current="chat" />
    <h1 tabindex="-1">Chat sessions of <code>${gptId}</code></h1>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    <form class="row filters" onSubmit=${filter} role="search" aria-label="Sessions">
      <label for="session-user">Sessions of</label>
      <input id="session-user" name="user" maxlength="200" placeholder="any user" />
      <button type="submit" class="secondary">Show</button>
    </form>
    ${sessions === null && !error && html`<p role="status">Loading sessions…</p>`}
    ${sessions !== null &&
    html`
      <div class="scroll">
        <table>
          <caption>${user ? `Sessions of ${user}` : 'Sessions, most recently active first'}</caption>
          <thead><tr><th scope="col">End user</th><th scope="col">Name</th><th scope="col">Character</th><th scope="col">Last activity</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            ${sessions.length === 0 && html`<tr><td colspan="5">No sessions.</td></tr>`}
            ${sessions.map(
              (session) => html`
                <tr key=${session.id}>
                  <th scope="row">${session.user_id}</th>
                  <td>${session.name ?? ''}</td>
                  <td>${characterName(session.character_id)}</td>
                  <td>${new Date(session.last_activity_at).toLocaleString()}</td>
                  <td><a href=${gptHref(gptId, 'chat', `/${session.id}`)}>Open<span class="visually-hidden"> the session of ${session.user_id} from ${new Date(session.created_at).toLocaleString()}</span></a></td>
                </tr>
              `,
            )}
          </tbody>
        </table>
      </div>
      ${next && html`<button type="button" class="secondary" onClick=${() => load(next, sessions)}>Show more sessions</button>`}
    `}
    <form class="card" onSubmit=${create} aria-labelledby="new-session-title">
      <h2 id="new-session-title">New session</h2>
      <label for="new-user">End user</label>
      <input id="new-user" name="user_id" required maxlength="200" />
      <label for="new-character">Character</label>
      <select id="new-character" name="character">
        <option value="">None</option>
        ${characters.map((character) => html`<option value=${character.id}>${character.name}</option>`)}
      </select>
      <button type="submit">Start the session</button>
    </form>
    <div class="scroll" tabindex="0" role="region" aria-label="Characters">
      <table>
        <caption>Characters</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Model</th><th scope="col">Memory</th><th scope="col">System prompt</th></tr></thead>
        <tbody>
          ${characters.length === 0 && html`<tr><td colspan="4">No characters.</td></tr>`}
          ${characters.map(
            (character) => html`
              <tr key=${character.id}>
                <th scope="row">${character.name}</th>
                <td>${character.model ?? 'the default'}</td>
                <td>${character.memory.enabled ? `on, top ${character.memory.top_k}` : 'off'}</td>
                <td class="clip">${character.agent_role}</td>
              </tr>
            `,
          )}
        </tbody>
      </table>
    </div>
  `
}
