import { useState } from 'preact/hooks'
import { html } from '../html.js'
import { addDocument, listDocuments } from './data-api.js'
import { DocumentEditor } from './document-editor.js'
import { describe, errorsUnder, FieldErrors, fieldErrors, invalid, when } from './form.js'
import { emptyJson, JsonField, readJson, type JsonText } from './json-field.js'
import { Pager, usePages } from './pager.js'

const preview = (body: Record<string, unknown>) => {
  const text = JSON.stringify(body)
  return text.length > 140 ? `${text.slice(0, 139)}…` : text
}

/** A collection's documents: filtered by `where` (containment) and `q` (full text), page by page; one opened to edit. */
export function Documents({ gptId, name }: { gptId: string; name: string }) {
  const [draft, setDraft] = useState({ where: '', q: '' })
  const [filters, setFilters] = useState({ where: '', q: '' })
  const [selected, setSelected] = useState<string | null>(null)
  const [message, setMessage] = useState('')
  const pages = usePages(`${gptId}/${name}/${JSON.stringify(filters)}`, (cursor) => listDocuments(gptId, name, filters, cursor))
  const whereErrors = errorsUnder(fieldErrors(pages.failure).filter((error) => error.location === 'query'), '/where')

  const changed = (text: string) => {
    setMessage(text)
    pages.reload()
  }

  const apply = (event: Event) => {
    event.preventDefault()
    setFilters({ where: draft.where.trim(), q: draft.q.trim() })
  }
  const clear = () => {
    setDraft({ where: '', q: '' })
    setFilters({ where: '', q: '' })
  }

  return html`
    <section aria-labelledby="documents-title">
      <h2 id="documents-title">Documents</h2>
      <form class="filters" onSubmit=${apply} aria-label="Filter documents">
        <div>
          <label for="documents-where">Where (JSON the body contains)</label>
          <input id="documents-where" class="code" placeholder='{"tag": "work"}' value=${draft.where} onInput=${(e: Event) => setDraft({ ...draft, where: (e.currentTarget as HTMLInputElement).value })} ...${invalid('documents-where-errors', whereErrors)} />
          <${FieldErrors} id="documents-where-errors" errors=${whereErrors} />
        </div>
        <div>
          <label for="documents-q">Words (full text, best first)</label>
          <input id="documents-q" type="search" value=${draft.q} maxlength="500" onInput=${(e: Event) => setDraft({ ...draft, q: (e.currentTarget as HTMLInputElement).value })} />
        </div>
        <div class="row">
          <button type="submit">Apply filters</button>
          <button type="button" class="secondary" onClick=${clear}>Clear</button>
        </div>
      </form>
      ${pages.failure !== null && html`<p role="alert" class="error">${describe(pages.failure)}</p>`}
      <p role="status" class="status">${message}</p>
      ${pages.page !== null &&
      html`
        <div class="scroll">
          <table>
            <caption>Documents of ${name}${filters.where || filters.q ? ' (filtered)' : ''}</caption>
            <thead>
              <tr><th scope="col">Id</th><th scope="col">Body</th><th scope="col">Changed</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr>
            </thead>
            <tbody>
              ${pages.page.items.length === 0 && html`<tr><td colspan="4">No documents${filters.where || filters.q ? ' match these filters' : ' yet'}.</td></tr>`}
              ${pages.page.items.map(
                (document) => html`
                  <tr key=${document.id}>
                    <th scope="row"><code>${document.id}</code></th>
                    <td><code>${preview(document.body)}</code></td>
                    <td>${when(document.updated_at)}</td>
                    <td><button type="button" class="secondary" onClick=${() => setSelected(document.id)}>Open<span class="visually-hidden"> document ${document.id}</span></button></td>
                  </tr>
                `,
              )}
            </tbody>
          </table>
        </div>
        <${Pager} label="Document pages" number=${pages.number} hasNext=${pages.page.next !== null} onPrevious=${pages.previous} onNext=${pages.next} />
      `}
      ${selected !== null && html`<${DocumentEditor} key=${selected} gptId=${gptId} id=${selected} onClose=${() => setSelected(null)} onChanged=${changed} />`}
      <${AddDocument} gptId=${gptId} name=${name} onAdded=${(id: string) => changed(`Document ${id} added.`)} />
    </section>
  `
}

function AddDocument({ gptId, name, onAdded }: { gptId: string; name: string; onAdded: (id: string) => void }) {
  const [field, setField] = useState<JsonText>(emptyJson())
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)

  async function submit(event: Event) {
    event.preventDefault()
    setError('')
    const read = readJson(field, 'The document')
    setField(read.field)
    if (!('value' in read) || read.value === null) return setError('Write the document as a JSON object.')
    setBusy(true)
    try {
      const added = await addDocument(gptId, name, read.value)
      setField(emptyJson())
      onAdded(added.id)
    } catch (failure) {
      setError(describe(failure))
      // The body is sent as {"body": …}: a shape error points below /body, a schema error into the document.
      const errors = fieldErrors(failure)
      setField({ ...read.field, errors: errors.some((e) => e.pointer.startsWith('/body')) ? errorsUnder(errors, '/body') : errors })
    } finally {
      setBusy(false)
    }
  }

  return html`
    <form class="card wide" onSubmit=${submit} aria-labelledby="add-document-title">
      <h2 id="add-document-title">Add a document</h2>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      <${JsonField} id="new-document" label="Document (JSON)" field=${field} onChange=${setField} required=${true} />
      <button type="submit" disabled=${busy}>Add document</button>
    </form>
  `
}
