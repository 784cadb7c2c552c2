import { useState } from 'preact/hooks'
import { ApiError, call, type Session } from './api.js'
import { html } from './html.js'

/** Two ways in: an account (email and password) or the operator (ADMIN_TOKEN). */
export function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)

  async function submit(event: Event, body: Record<string, string>) {
    event.preventDefault()
    setBusy(true)
    setError('')
    try {
      onSignedIn(await call<Session>('POST', '/session', body))
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.detail || failure.title : 'The server could not be reached.')
    } finally {
      setBusy(false)
    }
  }

  const account = (event: Event) => {
    const form = new FormData(event.currentTarget as HTMLFormElement)
    return submit(event, { email: String(form.get('email')), password: String(form.get('password')) })
  }
  const operator = (event: Event) => {
    const form = new FormData(event.currentTarget as HTMLFormElement)
    return submit(event, { admin_token: String(form.get('admin_token')) })
  }

  return html`
    <main id="main" class="signin">
      <h1>Sign in to Agentstore</h1>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      <div class="cards">
        <form class="card" onSubmit=${account} aria-labelledby="account-title">
          <h2 id="account-title">With your account</h2>
          <label for="email">Email</label>
          <input id="email" name="email" type="email" autocomplete="username" required />
          <label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required />
          <button type="submit" disabled=${busy}>Sign in</button>
        </form>
        <form class="card" onSubmit=${operator} aria-labelledby="operator-title">
          <h2 id="operator-title">As the operator</h2>
          <label for="admin-token">Admin token</label>
          <input id="admin-token" name="admin_token" type="password" autocomplete="off" required />
          <button type="submit" disabled=${busy}>Sign in as operator</button>
        </form>
      </div>
    </main>
  `
}
