import { useEffect, useState } from 'preact/hooks'
import { ApiError, gptStats, listGpts, type Gpt, type GptStats, type Session } from './api.js'
import { html } from './html.js'

/** The GPTs this principal can see: all of them for the operator, its own for an account. */
export function Overview({ session }: { session: Session }) {
  const [gpts, setGpts] = useState<Gpt[] | null>(null)
  const [stats, setStats] = useState<Record<string, GptStats>>({})
  const [error, setError] = useState('')

  useEffect(() => {
    listGpts(session).then(
      async (found) => {
        setGpts(found)
        const counted = await Promise.all(found.map((gpt) => gptStats(session, gpt.id).catch(() => null)))
        setStats(Object.fromEntries(counted.filter((row) => row !== null).map((row) => [row.gpt_id, row])))
      },
      (failure: unknown) => setError(failure instanceof ApiError ? failure.detail : 'Could not load the GPTs.'),
    )
  }, [session])

  const cell = (gptId: string, name: keyof Omit<GptStats, 'gpt_id'>) => html`<td class="number">${stats[gptId]?.[name] ?? '…'}</td>`

  return html`
    <h1 tabindex="-1">Overview</h1>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    ${gpts === null && !error && html`<p role="status">Loading GPTs…</p>`}
    ${gpts !== null && gpts.length === 0 && html`<p>No GPTs yet.</p>`}
    ${gpts !== null &&
    gpts.length > 0 &&
    html`
      <div class="scroll">
        <table>
          <caption>
            ${session.kind === 'operator' ? 'Every GPT on this server' : 'Your GPTs'}
          </caption>
          <thead>
            <tr>
              <th scope="col">GPT</th><th scope="col">Name</th><th scope="col">Documents</th><th scope="col">Memories</th>
              <th scope="col">Sessions</th><th scope="col">Agents</th><th scope="col">Unread mail</th><th scope="col"><span class="visually-hidden">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            ${gpts.map(
              (gpt) => html`
                <tr key=${gpt.id}>
                  <th scope="row"><a href=${`#/gpts/${encodeURIComponent(gpt.id)}/chat`}><code>${gpt.id}</code></a></th>
                  <td>${gpt.name}</td>
                  ${cell(gpt.id, 'documents')}${cell(gpt.id, 'memories')}${cell(gpt.id, 'sessions')}${cell(gpt.id, 'agents')}${cell(gpt.id, 'unread_mail')}
                  <td class="links">
                    <a href=${`#/gpts/${encodeURIComponent(gpt.id)}/keys`}>Keys<span class="visually-hidden"> of ${gpt.id}</span></a>
                    <a href=${`#/gpts/${encodeURIComponent(gpt.id)}/collections`}>Collections<span class="visually-hidden"> of ${gpt.id}</span></a>
                    <a href=${`#/gpts/${encodeURIComponent(gpt.id)}/memories`}>Memories<span class="visually-hidden"> of ${gpt.id}</span></a>
                  </td>
                </tr>
              `,
            )}
          </tbody>
        </table>
      </div>
    `}
  `
}
