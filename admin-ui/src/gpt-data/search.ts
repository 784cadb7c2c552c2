import { useState } from 'preact/hooks'
import type { FieldError } from '../api.js'
import { GptNav } from '../gpt-nav.js'
import { html } from '../html.js'
import { search, type SearchAnswer, type SearchMode, type SearchResult, type SearchSource } from './data-api.js'
import { describe, errorsUnder, FieldErrors, fieldErrors, invalid } from './form.js'
import { emptyJson, JsonField, readJson, type JsonText } from './json-field.js'

const MODES: [SearchMode, string][] = [
  ['hybrid', 'Hybrid (meaning and words, fused)'],
  ['semantic', 'Semantic (meaning)'],
  ['keyword', 'Keyword (words)'],
]
const SOURCES: [SearchSource, string][] = [
  ['memories', 'Memories'],
  ['objects', 'Documents'],
  ['messages', 'Chat messages'],
]

/** Why a result was found, in words: its place by meaning and by keyword, and the query words it holds. */
function Why({ match }: { match: SearchResult['match'] }) {
  return html`<ul class="why">
    ${match.semantic && html`<li>meaning: #${match.semantic.rank}, similarity ${match.semantic.similarity.toFixed(3)}</li>`}
    ${match.keyword && html`<li>words: #${match.keyword.rank} (${match.keyword.terms.length > 0 ? match.keyword.terms.join(', ') : 'the query'}), rank ${match.keyword.score.toFixed(3)}</li>`}
  </ul>`
}

const where = (result: SearchResult) => {
  const details = result.details
  if (result.source === 'objects') return `document in ${String(details.collection)}`
  if (result.source === 'messages') return `message of ${String(details.sender)}${details.user_id ? ` (${String(details.user_id)})` : ''}`
  return `memory${details.entity_type ? ` (${String(details.entity_type)})` : ''}${details.user_id ? ` of ${String(details.user_id)}` : ''}`
}

/** Date and time typed in the page's own zone, as the API's RFC 3339 (UTC). */
const isoOf = (local: string) => (local ? new Date(local).toISOString() : undefined)

/** Try a search as the GPT would send it: mode, sources, filters; every result with its score and why it matched. */
export function SearchPlayground({ gptId }: { gptId: string }) {
  const [form, setForm] = useState({ query: '', mode: 'hybrid' as SearchMode, top_k: '10', entity_type: '', user_id: '', after: '', before: '' })
  const [sources, setSources] = useState<SearchSource[]>(['memories', 'objects', 'messages'])
  const [filterWhere, setFilterWhere] = useState<JsonText>(emptyJson())
  const [answer, setAnswer] = useState<SearchAnswer | null>(null)
  const [errors, setErrors] = useState<FieldError[]>([])
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)
  const set = (name: keyof typeof form) => (event: Event) => setForm({ ...form, [name]: (event.currentTarget as HTMLInputElement).value })
  const toggle = (source: SearchSource) => setSources(sources.includes(source) ? sources.filter((s) => s !== source) : [...sources, source])

  async function submit(event: Event) {
    event.preventDefault()
    setError('')
    setErrors([])
    const read = readJson(filterWhere, 'Where')
    setFilterWhere(read.field)
    if (!('value' in read)) return setError('Where is not a JSON object; see under it.')
    const filters = Object.fromEntries(
      Object.entries({ entity_type: form.entity_type.trim(), user_id: form.user_id.trim(), where: read.value, created_after: isoOf(form.after), created_before: isoOf(form.before) })
        .filter(([, value]) => value !== '' && value !== null && value !== undefined),
    )
    setBusy(true)
    try {
      setAnswer(
        await search(gptId, {
          query: form.query,
          mode: form.mode,
          top_k: Number(form.top_k),
          sources,
          ...(Object.keys(filters).length > 0 ? { filters } : {}),
        }),
      )
    } catch (failure) {
      setAnswer(null)
      setError(describe(failure))
      setErrors(fieldErrors(failure))
      setFilterWhere({ ...read.field, errors: errorsUnder(fieldErrors(failure), '/filters/where') })
    } finally {
      setBusy(false)
    }
  }

  const at = (pointer: string) => errorsUnder(errors, pointer)
  const field = (name: 'entity_type' | 'user_id' | 'after' | 'before', label: string, pointer: string, type = 'text') => html`<div>
    <label for=${`search-${name}`}>${label}</label>
    <input id=${`search-${name}`} type=${type} value=${form[name]} onInput=${set(name)} ...${invalid(`search-${name}-errors`, at(pointer))} />
    <${FieldErrors} id=${`search-${name}-errors`} errors=${at(pointer)} />
  </div>`

  return html`
    <${GptNav} gptId=${gptId} current="search" />
    <h1 tabindex="-1">Search <code>${gptId}</code></h1>
    <form class="card wide" onSubmit=${submit} aria-labelledby="search-title" novalidate>
      <h2 id="search-title">Search playground</h2>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      <label for="search-query">Query</label>
      <input id="search-query" type="search" required maxlength="2000" value=${form.query} onInput=${set('query')} ...${invalid('search-query-errors', at('/query'))} />
      <${FieldErrors} id="search-query-errors" errors=${at('/query')} />
      <fieldset>
        <legend>Mode</legend>
        ${MODES.map(([mode, label]) => html`<label class="check"><input type="radio" name="mode" value=${mode} checked=${form.mode === mode} onChange=${set('mode')} /> ${label}</label>`)}
      </fieldset>
      <fieldset aria-describedby=${at('/sources').length > 0 ? 'search-sources-errors' : undefined}>
        <legend>Sources</legend>
        ${SOURCES.map(([source, label]) => html`<label class="check"><input type="checkbox" checked=${sources.includes(source)} onChange=${() => toggle(source)} /> ${label}</label>`)}
      </fieldset>
      <${FieldErrors} id="search-sources-errors" errors=${at('/sources')} />
      <div class="filters">
        <div>
          <label for="search-top-k">Results (1–50)</label>
          <input id="search-top-k" type="number" min="1" max="50" value=${form.top_k} onInput=${set('top_k')} ...${invalid('search-top-k-errors', at('/top_k'))} />
          <${FieldErrors} id="search-top-k-errors" errors=${at('/top_k')} />
        </div>
        ${field('entity_type', 'Entity type or collection', '/filters/entity_type')}
        ${field('user_id', 'End user', '/filters/user_id')}
        ${field('after', 'Created after', '/filters/created_after', 'datetime-local')}
        ${field('before', 'Created before', '/filters/created_before', 'datetime-local')}
      </div>
      <${JsonField} id="search-where" label="Where (JSON: memory metadata, document body or message context contains it)" field=${filterWhere} onChange=${setFilterWhere} rows=${2} />
      <button type="submit" disabled=${busy}>Search</button>
    </form>
    ${answer !== null && html`<${Results} answer=${answer} />`}
  `
}

function Results({ answer }: { answer: SearchAnswer }) {
  return html`
    <section aria-labelledby="results-title">
      <h2 id="results-title">Results</h2>
      <p role="status">${answer.results.length} result${answer.results.length === 1 ? '' : 's'}; mode ${answer.mode}, over ${answer.sources.join(', ')}; vectors: ${answer.vector_backend}, model ${answer.embedding_model}.</p>
      ${answer.warnings?.map((warning) => html`<p class="error">${warning}</p>`)}
      <div class="scroll">
        <table>
          <caption>Results, best first</caption>
          <thead><tr><th scope="col">Score</th><th scope="col">Found</th><th scope="col">Content</th><th scope="col">Why it matched</th></tr></thead>
          <tbody>
            ${answer.results.length === 0 && html`<tr><td colspan="4">Nothing found.</td></tr>`}
            ${answer.results.map(
              (result) => html`
                <tr key=${`${result.source}:${result.id}`}>
                  <td class="number">${result.score.toFixed(4)}</td>
                  <td>${where(result)}</td>
                  <th scope="row" class="content">${result.content}</th>
                  <td><${Why} match=${result.match} /></td>
                </tr>
              `,
            )}
          </tbody>
        </table>
      </div>
    </section>
  `
}
