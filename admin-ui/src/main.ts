import { render } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { call, useSession, type Session } from './api.js'
import { gptPage } from './gpt-pages.js'
import { html } from './html.js'
import { DataPage, dataRoute, type DataRoute } from './gpt-data/routes.js'
import { Keys } from './keys.js'
import { Overview } from './overview.js'
import { SignIn } from './signin.js'
import './styles.css'

type Route = { page: 'overview' } | { page: 'keys'; gptId: string } | { page: 'gpt'; hash: string } | DataRoute

function route(hash: string): Route {
  const keys = /^#\/gpts\/([^/]+)\/keys$/.exec(hash)
  if (keys) return { page: 'keys', gptId: decodeURIComponent(keys[1]!) }
  return dataRoute(hash) ?? (gptPage(hash) ? { page: 'gpt', hash } : { page: 'overview' })
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined)
  const [current, setCurrent] = useState<Route>(route(location.hash))
  const main = useRef<HTMLElement>(null)

  const signedIn = (next: Session | null) => {
    useSession(next)
    setSession(next)
  }

  useEffect(() => {
    call<Session>('GET', '/session').then(signedIn, () => signedIn(null))
    const onHash = () => setCurrent(route(location.hash))
    addEventListener('hashchange', onHash)
    return () => removeEventListener('hashchange', onHash)
  }, [])

  // A new page moves the focus to its heading, so that a screen reader announces it.
  useEffect(() => {
    main.current?.querySelector<HTMLElement>('h1')?.focus()
  }, [current, session])

  async function signOut() {
    await call('DELETE', '/session').catch(() => undefined)
    signedIn(null)
  }

  if (session === undefined) return html`<main id="main"><h1>Agentstore console</h1><p role="status">Loading…</p></main>`
  if (session === null) return html`<${SignIn} onSignedIn=${signedIn} />`
  return html`
    <header>
      <span class="brand">Agentstore</span>
      <nav aria-label="Console">
        <a href="#/" aria-current=${current.page === 'overview' ? 'page' : undefined}>Overview</a>
      </nav>
      <span class="who">${session.kind === 'operator' ? 'Operator' : 'Account'}</span>
      <button type="button" class="secondary" onClick=${signOut}>Sign out</button>
    </header>
    <main id="main" ref=${main}>
      ${current.page === 'keys'
        ? html`<${Keys} session=${session} gptId=${current.gptId} />`
        : current.page === 'gpt'
          ? gptPage(current.hash)
          : current.page === 'overview'
            ? html`<${Overview} session=${session} />`
            : html`<${DataPage} route=${current} />`}
    </main>
  `
}

render(html`<${App} />`, document.getElementById('app')!)
