import { useEffect, useState } from 'preact/hooks'
import { ApiError, base, call, type Key, type Session } from './api.js'
import { GptNav } from './gpt-nav.js'
import { html } from './html.js'

const SCOPES = ['read', 'write', 'admin'] as const
const describe = (failure: unknown) => (failure instanceof ApiError ? failure.detail || failure.title : 'The server could not be reached.')

/** A GPT's keys: create one (its secret shown once), list them, revoke one. */
export function Keys({ session, gptId }: { session: Session; gptId: string }) {
  const [keys, setKeys] = useState<Key[] | null>(null)
  const [secret, setSecret] = useState<{ name: string; key: string } | null>(null)
  const [message, setMessage] = useState('')
  const [error, setError] = useState('')
  const path = `${base(session)}/gpts/${encodeURIComponent(gptId)}/keys`

  const load = () => call<{ keys: Key[] }>('GET', `${path}?limit=100`).then((page) => setKeys(page.keys), (failure) => setError(describe(failure)))
  useEffect(() => {
    setSecret(null)
    void load()
  }, [gptId, session])

  async function create(event: Event) {
    event.preventDefault()
    const form = event.currentTarget as HTMLFormElement
    const data = new FormData(form)
    const scopes = SCOPES.filter((scope) => data.get(scope) === 'on')
    const name = String(data.get('name') ?? '').trim()
    setError('')
    try {
      const created = await call<Key & { key: string }>('POST', path, { ...(name ? { name } : {}), ...(scopes.length ? { scopes } : {}) })
      setSecret({ name: created.name ?? created.id, key: created.key })
      form.reset()
      await load()
    } catch (failure) {
      setError(describe(failure))
    }
  }

  async function revoke(key: Key) {
    if (!window.confirm(`Revoke the key ${key.name ?? key.id}? Requests with it stop at once.`)) return
    setError('')
    try {
      await call('DELETE', `${base(session)}/keys/${key.id}`)
      await load()
      setMessage(`Key ${key.name ?? key.id} revoked.`)
    } catch (failure) {
      setError(describe(failure))
    }
  }

  async function copy() {
    if (!secret) return
    await navigator.clipboard.writeText(secret.key).then(
      () => setMessage('Key copied to the clipboard.'),
      () => setMessage('Copying failed: select the key and copy it by hand.'),
    )
  }

  return html`
    <${GptNav} gptId=${gptId} current="keys" />
    <h1 tabindex="-1">Keys of <code>${gptId}</code></h1>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    <p role="status" class="status">${message}</p>
    ${secret &&
    html`
      <section class="secret" aria-labelledby="secret-title">
        <h2 id="secret-title">New key ${secret.name}</h2>
        <p>Copy it now: it is shown only this once.</p>
        <label for="secret-value">Key</label>
        <div class="row">
          <input id="secret-value" readonly value=${secret.key} />
          <button type="button" onClick=${copy}>Copy</button>
          <button type="button" class="secondary" onClick=${() => setSecret(null)}>Done</button>
        </div>
      </section>
    `}
    <form class="card" onSubmit=${create} aria-labelledby="create-title">
      <h2 id="create-title">Create a key</h2>
      <label for="key-name">Name (optional)</label>
      <input id="key-name" name="name" maxlength="200" />
      <fieldset>
        <legend>Scopes</legend>
        ${SCOPES.map((scope) => html`<label class="check"><input type="checkbox" name=${scope} checked=${scope !== 'admin'} /> ${scope}</label>`)}
      </fieldset>
      <button type="submit">Create key</button>
    </form>
    ${keys === null && !error && html`<p role="status">Loading keys…</p>`}
    ${keys !== null &&
    html`
      <div class="scroll">
        <table>
          <caption>Keys</caption>
          <thead>
            <tr><th scope="col">Name</th><th scope="col">Scopes</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">State</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr>
          </thead>
          <tbody>
            ${keys.length === 0 && html`<tr><td colspan="6">No keys yet.</td></tr>`}
            ${keys.map(
              (key) => html`
                <tr key=${key.id}>
                  <th scope="row">${key.name ?? html`<code>${key.id}</code>`}</th>
                  <td>${key.scopes.join(', ')}</td>
                  <td>${new Date(key.created_at).toLocaleString()}</td>
                  <td>${key.last_used_at ? new Date(key.last_used_at).toLocaleString() : 'never'}</td>
                  <td>${key.revoked_at ? 'revoked' : 'active'}</td>
                  <td>
                    ${!key.revoked_at &&
                    html`<button type="button" class="danger" onClick=${() => revoke(key)}>Revoke<span class="visually-hidden"> ${key.name ?? key.id}</span></button>`}
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
