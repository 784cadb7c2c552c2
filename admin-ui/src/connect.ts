import { useEffect, useState } from 'preact/hooks'
import { call, describeFailure } from './api.js'
import { GptNav, gptHref } from './gpt-nav.js'
import { html } from './html.js'

interface Operation {
  method: string
  path: string
  id: string
  summary: string
}

interface Spec {
  servers?: { url: string }[]
  paths?: Record<string, Record<string, { operationId?: string; summary?: string }>>
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch']

function operations(spec: Spec): Operation[] {
  return Object.entries(spec.paths ?? {}).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, operation]) => ({ method: method.toUpperCase(), path, id: operation.operationId ?? '', summary: operation.summary ?? '' })),
  )
}

function Snippet({ id, label, text, onCopied }: { id: string; label: string; text: string; onCopied: (what: string) => void }) {
  const copy = () =>
    navigator.clipboard.writeText(text).then(
      () => onCopied(`${label} copied to the clipboard.`),
      () => onCopied('Copying failed: select the text and copy it by hand.'),
    )
  return html`
    <label for=${id}>${label}</label>
    <div class="row snippet">
      <textarea id=${id} readonly rows=${text.split('\n').length} spellcheck="false">${text}</textarea>
      <button type="button" class="secondary" onClick=${copy}>Copy<span class="visually-hidden"> ${label}</span></button>
    </div>
  `
}

/**
 * How to connect a GPT: the URL to import as its Action (with the operations that spec offers now)
 * and the MCP connection snippets. Both take one of the GPT's keys, made on its Keys page.
 */
export function Connect({ gptId }: { gptId: string }) {
  const [spec, setSpec] = useState<Spec | null>(null)
  const [error, setError] = useState('')
  const [message, setMessage] = useState('')
  const specPath = `/v1/gpts/${encodeURIComponent(gptId)}/openapi.json`

  useEffect(() => {
    call<Spec>('GET', specPath).then(setSpec, (failure: unknown) => setError(describeFailure(failure)))
  }, [gptId])

  // The spec names the service's public address (PUBLIC_URL): the one a GPT builder and MCP hosts reach.
  const server = (spec?.servers?.[0]?.url ?? location.origin).replace(/\/$/, '')
  const specUrl = `${server}${specPath}`
  const claude = `claude mcp add --transport http agentstore ${server}/mcp --header "Authorization: Bearer $KEY"`
  const cursor = JSON.stringify({ mcpServers: { agentstore: { url: `${server}/mcp`, headers: { Authorization: 'Bearer ak_…' } } } }, null, 2)
  const listed = spec ? operations(spec) : []

  return html`
    <${GptNav} gptId=${gptId} current="connect" />
    <h1 tabindex="-1">Connect <code>${gptId}</code></h1>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    <p role="status" class="status">${message}</p>
    <p>Both ways in take one of this GPT's keys (<code>ak_…</code>): create one on the <a href=${gptHref(gptId, 'keys')}>Keys page</a>.</p>
    <section aria-labelledby="action-title">
      <h2 id="action-title">Custom GPT Action</h2>
      <p>In the GPT editor: Configure → Actions → Create new action → Import from URL, then choose API key authentication (Bearer).</p>
      <${Snippet} id="spec-url" label="Action spec URL" text=${specUrl} onCopied=${setMessage} />
      ${spec === null && !error && html`<p role="status">Loading the Action spec…</p>`}
      ${spec !== null &&
      html`
        <div class="scroll" tabindex="0" role="region" aria-label="Operations">
          <table>
            <caption>Operations the Action offers (${listed.length})</caption>
            <thead><tr><th scope="col">Operation</th><th scope="col">Method</th><th scope="col">Path</th><th scope="col">Summary</th></tr></thead>
            <tbody>
              ${listed.map(
                (operation) => html`<tr key=${`${operation.method} ${operation.path}`}><th scope="row"><code>${operation.id}</code></th><td>${operation.method}</td><td><code>${operation.path}</code></td><td>${operation.summary}</td></tr>`,
              )}
            </tbody>
          </table>
        </div>
      `}
    </section>
    <section aria-labelledby="mcp-title">
      <h2 id="mcp-title">MCP hosts</h2>
      <p>Streamable HTTP at <code>${server}/mcp</code>, the key in <code>Authorization: Bearer</code>.</p>
      <${Snippet} id="mcp-claude" label="Claude Code command" text=${claude} onCopied=${setMessage} />
      <${Snippet} id="mcp-cursor" label="Cursor mcp.json" text=${cursor} onCopied=${setMessage} />
    </section>
  `
}
