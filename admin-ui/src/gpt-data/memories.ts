import { useState } from 'preact/hooks'
import { GptNav } from '../gpt-nav.js'
import { html } from '../html.js'
import { addMemory, deleteMemory, listMemories, type Memory, type MemoryFilters } from './data-api.js'
import { EditMemory } from './memory-edit.js'
import { describe, errorsUnder, FieldErrors, fieldErrors, invalid, when } from './form.js'
import { emptyJson, JsonField } from './json-field.js'
import { MemoryForm, useMemoryForm } from './memory-form.js'
import { Pager, usePages } from './pager.js'

const NO_FILTERS: MemoryFilters = { entity_type: '', entity_id: '', user_id: '', embedding_status: '', where: '' }
const TEXT_FILTERS = [
  ['entity_type', 'Entity type'],
  ['entity_id', 'Entity id'],
  ['user_id', 'End user'],
] as const

const STATUS_TEXT = { ready: 'searchable', pending: 'being embedded', failed: 'failed' } as const

function Status({ memory }: { memory: Memory }) {
  return html`<span class=${`badge ${memory.embedding_status}`}>${memory.embedding_status}</span><span class="visually-hidden"> (${STATUS_TEXT[memory.embedding_status]})</span>
    ${memory.embedding_error && html`<div class="hint">${memory.embedding_error}</div>`}`
}

/** A GPT's memories, filtered, with their embedding status; and a form to add one. */
export function Memories({ gptId }: { gptId: string }) {
  const [draft, setDraft] = useState<MemoryFilters>(NO_FILTERS)
  const [filters, setFilters] = useState<MemoryFilters>(NO_FILTERS)
  const [message, setMessage] = useState('')
  const [editing, setEditing] = useState<Memory | null>(null)
  const [failure, setFailure] = useState('')
  const pages = usePages(`${gptId}/${JSON.stringify(filters)}`, (cursor) => listMemories(gptId, filters, cursor))
  const queryErrors = fieldErrors(pages.failure).filter((error) => error.location === 'query')
  const input = (name: keyof MemoryFilters) => (event: Event) => setDraft({ ...draft, [name]: (event.currentTarget as HTMLInputElement).value })
  const short = (memory: Memory) => (memory.content.length > 60 ? `${memory.content.slice(0, 60)}…` : memory.content)

  async function remove(memory: Memory) {
    if (!window.confirm(`Delete the memory "${short(memory)}"? It is forgotten, with its vector.`)) return
    setFailure('')
    try {
      await deleteMemory(gptId, memory.id)
      if (editing?.id === memory.id) setEditing(null)
      setMessage('Memory deleted.')
      pages.reload()
    } catch (caught) {
      setFailure(describe(caught))
    }
  }

  return html`
    <${GptNav} gptId=${gptId} current="memories" />
    <h1 tabindex="-1">Memories of <code>${gptId}</code></h1>
    <form class="filters" aria-label="Filter memories" onSubmit=${(event: Event) => (event.preventDefault(), setFilters(draft))}>
      ${TEXT_FILTERS.map(
        ([name, label]) => html`<div>
          <label for=${`memories-${name}`}>${label}</label>
          <input id=${`memories-${name}`} value=${draft[name]} maxlength="200" onInput=${input(name)} />
        </div>`,
      )}
      <div>
        <label for="memories-status">Embedding status</label>
        <select id="memories-status" value=${draft.embedding_status} onChange=${input('embedding_status')}>
          <option value="">any</option><option value="ready">ready</option><option value="pending">pending</option><option value="failed">failed</option>
        </select>
      </div>
      <div>
        <label for="memories-where">Metadata contains (JSON)</label>
        <input id="memories-where" class="code" placeholder='{"topic": "food"}' value=${draft.where} onInput=${input('where')} ...${invalid('memories-where-errors', errorsUnder(queryErrors, '/where'))} />
        <${FieldErrors} id="memories-where-errors" errors=${errorsUnder(queryErrors, '/where')} />
      </div>
      <div class="row">
        <button type="submit">Apply filters</button>
        <button type="button" class="secondary" onClick=${() => (setDraft(NO_FILTERS), setFilters(NO_FILTERS))}>Clear</button>
      </div>
    </form>
    ${pages.failure !== null && html`<p role="alert" class="error">${describe(pages.failure)}</p>`}
    ${failure && html`<p role="alert" class="error">${failure}</p>`}
    <p role="status" class="status">${message}</p>
    ${pages.page !== null &&
    html`
      <div class="scroll">
        <table>
          <caption>Memories, oldest first</caption>
          <thead>
            <tr><th scope="col">Content</th><th scope="col">Entity</th><th scope="col">End user</th><th scope="col">Metadata</th><th scope="col">Embedding</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr>
          </thead>
          <tbody>
            ${pages.page.items.length === 0 && html`<tr><td colspan="7">No memories${JSON.stringify(filters) === JSON.stringify(NO_FILTERS) ? ' yet' : ' match these filters'}.</td></tr>`}
            ${pages.page.items.map(
              (memory) => html`
                <tr key=${memory.id}>
                  <th scope="row" class="content">${memory.content}</th>
                  <td>${memory.entity_type ? `${memory.entity_type}${memory.entity_id ? ` / ${memory.entity_id}` : ''}` : '—'}</td>
                  <td>${memory.user_id ?? '—'}</td>
                  <td><code>${Object.keys(memory.metadata).length > 0 ? JSON.stringify(memory.metadata) : '—'}</code></td>
                  <td><${Status} memory=${memory} /></td>
                  <td>${when(memory.created_at)}</td>
                  <td class="links">
                    <button type="button" class="secondary" onClick=${() => (setMessage(''), setEditing(memory))}>Edit<span class="visually-hidden"> ${short(memory)}</span></button>
                    <button type="button" class="danger" onClick=${() => remove(memory)}>Delete<span class="visually-hidden"> ${short(memory)}</span></button>
                  </td>
                </tr>
              `,
            )}
          </tbody>
        </table>
      </div>
      <${Pager} label="Memory pages" number=${pages.number} hasNext=${pages.page.next !== null} onPrevious=${pages.previous} onNext=${pages.next} />
    `}
    ${editing &&
    html`<${EditMemory}
      gptId=${gptId}
      memory=${editing}
      onCancel=${() => setEditing(null)}
      onSaved=${(saved: Memory) => {
        setEditing(null)
        setMessage(`Memory saved (${saved.embedding_status === 'ready' ? 'searchable now' : 'being embedded again'}).`)
        pages.reload()
      }}
    />`}
    <${AddMemory}
      gptId=${gptId}
      onAdded=${(memory: Memory) => {
        setMessage(`Memory added (${memory.embedding_status === 'ready' ? 'searchable now' : 'being embedded'}).`)
        pages.reload()
      }}
    />
  `
}

const LABELS = [
  ['entity_type', 'Entity type (optional; with an entity id, a later write replaces it)'],
  ['entity_id', 'Entity id (optional)'],
  ['user_id', 'End user (optional)'],
] as const

const NO_VALUES = { content: '', entity_type: '', entity_id: '', user_id: '' }

function AddMemory({ gptId, onAdded }: { gptId: string; onAdded: (memory: Memory) => void }) {
  const [values, setValues] = useState(NO_VALUES)
  const form = useMemoryForm()
  const input = (name: keyof typeof values) => (event: Event) => setValues({ ...values, [name]: (event.currentTarget as HTMLInputElement).value })

  const submit = form.submit(async (metadata) => {
    const labels = Object.fromEntries(LABELS.map(([name]) => [name, values[name].trim()]).filter(([, value]) => value !== ''))
    onAdded(await addMemory(gptId, { content: values.content, ...labels, ...(metadata ? { metadata } : {}) }))
    setValues(NO_VALUES)
    form.setMetadata(emptyJson())
  })

  return html`
    <${MemoryForm} form=${form} onSubmit=${submit} id="add-memory" title="Add a memory" contentLabel="Content" content=${values.content} onContent=${input('content')}>
      ${LABELS.map(([name, label]) => {
        const found = errorsUnder(form.errors, `/${name}`)
        return html`
          <label for=${`memory-${name}`}>${label}</label>
          <input id=${`memory-${name}`} value=${values[name]} maxlength="200" onInput=${input(name)} ...${invalid(`memory-${name}-errors`, found)} />
          <${FieldErrors} id=${`memory-${name}-errors`} errors=${found} />
        `
      })}
      <${JsonField} id="memory-metadata" label="Metadata (optional JSON object)" field=${form.metadata} onChange=${form.setMetadata} rows=${3} />
      <button type="submit" disabled=${form.busy}>Add memory</button>
    <//>
  `
}
