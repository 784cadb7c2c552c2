import { useEffect, useState } from 'preact/hooks'
import { call, describeFailure } from './api.js'
import { GptNav } from './gpt-nav.js'
import { html } from './html.js'

interface AuditEntry {
  id: string
  principal: { kind: string; id: string | null }
  action: string
  targets: Record<string, string>
  status: number
  duration_ms: number | null
  ip: string | null
  request_id: string | null
  created_at: string
}

const KINDS = ['admin', 'key', 'account', 'app', 'end_user', 'anonymous']
const STATUSES = ['2xx', '3xx', '4xx', '5xx']

/** The form's filters as the API's query: empty fields left out, local times sent as instants. */
function query(form: HTMLFormElement): string {
  const params = new URLSearchParams({ limit: '50' })
  for (const [name, value] of new FormData(form)) {
    const text = String(value).trim()
    if (!text) continue
    params.set(name, name.startsWith('created_') ? new Date(text).toISOString() : text)
  }
  return params.toString()
}

/** A GPT's audit log, newest first, filtered by principal, action, status and time; more on request. */
export function Audit({ gptId }: { gptId: string }) {
  const [entries, setEntries] = useState<AuditEntry[] | null>(null)
  const [filters, setFilters] = useState('limit=50')
  const [next, setNext] = useState<string | null>(null)
  const [error, setError] = useState('')
  const path = `/v1/gpts/${encodeURIComponent(gptId)}/audit`

  const load = (params: string, more: AuditEntry[] = []) =>
    call<{ audit: AuditEntry[]; next_cursor: string | null }>('GET', `${path}?${params}`, undefined, { gpt: gptId }).then(
      (page) => {
        setError('')
        setEntries([...more, ...page.audit])
        setNext(page.next_cursor)
      },
      (failure: unknown) => setError(describeFailure(failure)),
    )
  useEffect(() => void load(filters), [gptId, filters])

  function filter(event: Event) {
    event.preventDefault()
    setEntries(null)
    setFilters(query(event.currentTarget as HTMLFormElement))
  }

  return html`
    <${GptNav} gptId=${gptId} current="audit" />
    <h1 tabindex="-1">Audit log of <code>${gptId}</code></h1>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    <form class="card wide filters-grid" onSubmit=${filter} role="search" aria-labelledby="audit-filter-title">
      <h2 id="audit-filter-title">Filter</h2>
      <label>Principal <select name="principal_kind"><option value="">any</option>${KINDS.map((kind) => html`<option>${kind}</option>`)}</select></label>
      <label>Principal id <input name="principal_id" maxlength="200" /></label>
      <label>Action <input name="action" maxlength="200" placeholder="e.g. createObject" /></label>
      <label>Status <select name="status"><option value="">any</option>${STATUSES.map((status) => html`<option>${status}</option>`)}</select></label>
      <label>From <input name="created_after" type="datetime-local" /></label>
      <label>Until <input name="created_before" type="datetime-local" /></label>
      <button type="submit">Apply the filter</button>
    </form>
    ${entries === null && !error && html`<p role="status">Loading the audit log…</p>`}
    ${entries !== null &&
    html`
      <p role="status">${entries.length} ${entries.length === 1 ? 'entry' : 'entries'} shown${next ? ', more on request' : ''}.</p>
      <div class="scroll" tabindex="0" role="region" aria-label="Audit entries">
        <table>
          <caption>Audit entries, newest first</caption>
          <thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Status</th><th scope="col">Principal</th><th scope="col">Targets</th><th scope="col">Duration</th></tr></thead>
          <tbody>
            ${entries.length === 0 && html`<tr><td colspan="6">No entries match.</td></tr>`}
            ${entries.map(
              (entry) => html`
                <tr key=${entry.id}>
                  <td><time datetime=${entry.created_at}>${new Date(entry.created_at).toLocaleString()}</time></td>
                  <th scope="row">${entry.action}</th>
                  <td class="number">${entry.status}</td>
                  <td>${entry.principal.kind}${entry.principal.id && html` <code>${entry.principal.id}</code>`}</td>
                  <td>${Object.entries(entry.targets).map(([name, id]) => html`<span class="target">${name}: <code>${id}</code></span> `)}</td>
                  <td class="number">${entry.duration_ms === null ? '' : `${Math.round(entry.duration_ms)} ms`}</td>
                </tr>
              `,
            )}
          </tbody>
        </table>
      </div>
      ${next && html`<button type="button" class="secondary" onClick=${() => load(`${filters}&cursor=${encodeURIComponent(next)}`, entries)}>Show more</button>`}
    `}
  `
}
