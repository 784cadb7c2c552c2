import { useEffect, useState } from 'preact/hooks'
import { call, describeFailure } from './api.js'
import { GptNav, gptHref } from './gpt-nav.js'
import { html } from './html.js'

interface App {
  id: string
  name: string
  client_id: string
  type: 'confidential' | 'public'
  redirect_uris: string[]
  scopes: string[]
  created_at: string
  last_used_at: string | null
}

interface Grant {
  id: string
  end_user_id: string | null
  scopes: string[]
  resource: string
  created_at: string
  last_used_at: string | null
  expires_at: string
}

const SCOPES = ['read', 'write', 'admin'] as const
const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : 'never')

/** A GPT's OAuth apps: create one (its secret shown once), list them with redirect URIs and scopes, delete one. */
export function Apps({ gptId }: { gptId: string }) {
  const [apps, setApps] = useState<App[] | null>(null)
  const [created, setCreated] = useState<(App & { client_secret: string | null }) | null>(null)
  const [message, setMessage] = useState('')
  const [error, setError] = useState('')
  const options = { gpt: gptId }

  const load = () =>
    call<{ apps: App[] }>('GET', `/v1/gpts/${encodeURIComponent(gptId)}/apps?limit=100`, undefined, options).then(
      (page) => setApps(page.apps),
      (failure) => setError(describeFailure(failure)),
    )
  useEffect(() => {
    setCreated(null)
    void load()
  }, [gptId])

  async function create(event: Event) {
    event.preventDefault()
    const form = event.currentTarget as HTMLFormElement
    const data = new FormData(form)
    const scopes = SCOPES.filter((scope) => data.get(scope) === 'on')
    const redirects = String(data.get('redirect_uris') ?? '')
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
    setError('')
    setMessage('')
    try {
      const body = { name: String(data.get('name') ?? '').trim(), type: String(data.get('type')), redirect_uris: redirects, ...(scopes.length ? { scopes } : {}) }
      setCreated(await call<App & { client_secret: string | null }>('POST', `/v1/gpts/${encodeURIComponent(gptId)}/apps`, body, options))
      form.reset()
      await load()
    } catch (failure) {
      setError(describeFailure(failure))
    }
  }

  async function remove(app: App) {
    if (!window.confirm(`Delete the app ${app.name}? Its tokens stop working at once.`)) return
    setError('')
    try {
      await call('DELETE', `/v1/apps/${app.id}`, undefined, options)
      if (created?.id === app.id) setCreated(null)
      await load()
      setMessage(`App ${app.name} deleted.`)
    } catch (failure) {
      setError(describeFailure(failure))
    }
  }

  async function copy() {
    if (!created?.client_secret) return
    await navigator.clipboard.writeText(created.client_secret).then(
      () => setMessage('Client secret copied to the clipboard.'),
      () => setMessage('Copying failed: select the secret and copy it by hand.'),
    )
  }

  return html`
    <${GptNav} gptId=${gptId} current="apps" />
    <h1 tabindex="-1">OAuth apps of <code>${gptId}</code></h1>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    <p role="status" class="status">${message}</p>
    ${created &&
    html`
      <section class="secret" aria-labelledby="app-secret-title">
        <h2 id="app-secret-title">New app ${created.name}</h2>
        <label for="app-client-id">Client id</label>
        <input id="app-client-id" readonly value=${created.client_id} />
        ${created.client_secret
          ? html`
              <p>Copy the client secret now: it is shown only this once.</p>
              <label for="app-secret-value">Client secret</label>
              <div class="row">
                <input id="app-secret-value" readonly value=${created.client_secret} />
                <button type="button" onClick=${copy}>Copy</button>
                <button type="button" class="secondary" onClick=${() => setCreated(null)}>Done</button>
              </div>
            `
          : html`<p>A public app has no secret: it proves itself with PKCE.</p>
              <button type="button" class="secondary" onClick=${() => setCreated(null)}>Done</button>`}
      </section>
    `}
    <form class="card" onSubmit=${create} aria-labelledby="app-create-title">
      <h2 id="app-create-title">Register an app</h2>
      <label for="app-name">Name</label>
      <input id="app-name" name="name" required maxlength="200" />
      <label for="app-redirects">Redirect URIs (one a line)</label>
      <textarea id="app-redirects" name="redirect_uris" rows="3" required></textarea>
      <fieldset>
        <legend>Type</legend>
        <label class="check"><input type="radio" name="type" value="confidential" checked /> confidential (a server, with a secret)</label>
        <label class="check"><input type="radio" name="type" value="public" /> public (PKCE only)</label>
      </fieldset>
      <fieldset>
        <legend>Scopes it may ask for</legend>
        ${SCOPES.map((scope) => html`<label class="check"><input type="checkbox" name=${scope} checked=${scope !== 'admin'} /> ${scope}</label>`)}
      </fieldset>
      <button type="submit">Register app</button>
    </form>
    ${apps === null && !error && html`<p role="status">Loading apps…</p>`}
    ${apps !== null &&
    html`
      <div class="scroll">
        <table>
          <caption>Apps</caption>
          <thead>
            <tr><th scope="col">Name</th><th scope="col">Client id</th><th scope="col">Redirect URIs</th><th scope="col">Scopes</th><th scope="col">Last used</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr>
          </thead>
          <tbody>
            ${apps.length === 0 && html`<tr><td colspan="6">No apps yet.</td></tr>`}
            ${apps.map(
              (app) => html`
                <tr key=${app.id}>
                  <th scope="row">${app.name} <span class="badge">${app.type}</span></th>
                  <td><code>${app.client_id}</code></td>
                  <td><ul class="plain">${app.redirect_uris.map((uri) => html`<li><code>${uri}</code></li>`)}</ul></td>
                  <td>${app.scopes.join(', ')}</td>
                  <td>${when(app.last_used_at)}</td>
                  <td class="links">
                    <a href=${gptHref(gptId, 'apps', `/${app.id}`)}>Sessions<span class="visually-hidden"> of ${app.name}</span></a>
                    <button type="button" class="danger" onClick=${() => remove(app)}>Delete<span class="visually-hidden"> ${app.name}</span></button>
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

/** An app's live sessions (refresh-token families, one per end user's consent); each can be ended. */
export function AppSessions({ gptId, appId }: { gptId: string; appId: string }) {
  const [app, setApp] = useState<App | null>(null)
  const [grants, setGrants] = useState<Grant[] | null>(null)
  const [message, setMessage] = useState('')
  const [error, setError] = useState('')
  const options = { gpt: gptId }

  const load = async () => {
    try {
      setApp(await call<App>('GET', `/v1/apps/${encodeURIComponent(appId)}`, undefined, options))
      setGrants((await call<{ grants: Grant[] }>('GET', `/v1/apps/${encodeURIComponent(appId)}/grants?limit=100`, undefined, options)).grants)
    } catch (failure) {
      setError(describeFailure(failure))
    }
  }
  useEffect(() => void load(), [gptId, appId])

  async function revoke(grant: Grant) {
    if (!window.confirm(`End this session of ${app?.name ?? 'the app'}? Its refresh and access tokens stop at once.`)) return
    setError('')
    try {
      await call('DELETE', `/v1/apps/${encodeURIComponent(appId)}/grants/${grant.id}`, undefined, options)
      await load()
      setMessage('Session ended.')
    } catch (failure) {
      setError(describeFailure(failure))
    }
  }

  return html`
    <${GptNav} gptId=${gptId} current="apps" />
    <p><a href=${gptHref(gptId, 'apps')}>All apps</a></p>
    <h1 tabindex="-1">Sessions of ${app ? app.name : 'the app'}</h1>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    <p role="status" class="status">${message}</p>
    ${grants === null && !error && html`<p role="status">Loading sessions…</p>`}
    ${grants !== null &&
    html`
      <div class="scroll">
        <table>
          <caption>Live sessions</caption>
          <thead>
            <tr><th scope="col">End user</th><th scope="col">Scopes</th><th scope="col">Started</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr>
          </thead>
          <tbody>
            ${grants.length === 0 && html`<tr><td colspan="6">No live sessions.</td></tr>`}
            ${grants.map(
              (grant) => html`
                <tr key=${grant.id}>
                  <th scope="row">${grant.end_user_id ? html`<code>${grant.end_user_id}</code>` : 'the GPT itself'}</th>
                  <td>${grant.scopes.join(', ')}</td>
                  <td>${when(grant.created_at)}</td>
                  <td>${when(grant.last_used_at)}</td>
                  <td>${when(grant.expires_at)}</td>
                  <td><button type="button" class="danger" onClick=${() => revoke(grant)}>End session<span class="visually-hidden"> started ${when(grant.created_at)}</span></button></td>
                </tr>
              `,
            )}
          </tbody>
        </table>
      </div>
    `}
  `
}
