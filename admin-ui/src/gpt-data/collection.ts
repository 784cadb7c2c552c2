import { useEffect, useState } from 'preact/hooks'
import { html } from '../html.js'
import { changeSchema, getCollection, type Collection } from './data-api.js'
import { Documents } from './documents.js'
import { describe, errorsUnder, fieldErrors, formatWithLines } from './form.js'
import { JsonField, readJson, type JsonText } from './json-field.js'
import { Transfer } from './transfer.js'

const schemaField = (collection: Collection): JsonText =>
  collection.schema ? { ...formatWithLines(collection.schema), errors: [] } : { text: '', errors: [] }

/** One collection: its documents, its schema, export and import. */
export function CollectionPage({ gptId, name }: { gptId: string; name: string }) {
  const [collection, setCollection] = useState<Collection | null>(null)
  const [error, setError] = useState('')
  // Remounts the documents list after an import, so that it starts again at the first page.
  const [generation, setGeneration] = useState(0)

  useEffect(() => {
    setCollection(null)
    setError('')
    getCollection(gptId, name).then(setCollection, (failure) => setError(describe(failure)))
  }, [gptId, name])

  return html`
    <h1 tabindex="-1">Collection ${name} <span class="muted">of <code>${gptId}</code></span></h1>
    <p><a href=${`#/gpts/${encodeURIComponent(gptId)}/collections`}>Back to the collections of ${gptId}</a></p>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    ${collection === null && !error && html`<p role="status">Loading the collection…</p>`}
    ${collection !== null &&
    html`
      <${Documents} key=${generation} gptId=${gptId} name=${name} />
      <${SchemaEditor} gptId=${gptId} collection=${collection} onSaved=${setCollection} />
      <${Transfer} gptId=${gptId} name=${name} onImported=${() => setGeneration((value) => value + 1)} />
    `}
  `
}

function SchemaEditor({ gptId, collection, onSaved }: { gptId: string; collection: Collection; onSaved: (collection: Collection) => void }) {
  const [field, setField] = useState<JsonText>(schemaField(collection))
  const [error, setError] = useState('')
  const [message, setMessage] = useState('')
  const [busy, setBusy] = useState(false)

  async function save(event: Event) {
    event.preventDefault()
    setError('')
    setMessage('')
    const read = readJson(field, 'The schema')
    setField(read.field)
    if (!('value' in read)) return setError('The schema is not a JSON object; see under the schema.')
    setBusy(true)
    try {
      const saved = await changeSchema(gptId, collection.name, read.value)
      onSaved(saved)
      const invalid = saved.invalid_documents
      setMessage(
        read.value === null
          ? 'Schema removed: documents are no longer checked.'
          : `Schema saved. ${invalid === 0 ? 'Every stored document satisfies it.' : `${invalid} stored document${invalid === 1 ? ' fails' : 's fail'} it (kept as they are).`}`,
      )
    } catch (failure) {
      setError(describe(failure))
      setField({ ...read.field, errors: errorsUnder(fieldErrors(failure), '/schema') })
    } finally {
      setBusy(false)
    }
  }

  return html`
    <form class="card wide" onSubmit=${save} aria-labelledby="schema-title">
      <h2 id="schema-title">Schema</h2>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      <p role="status" class="status">${message}</p>
      <${JsonField}
        id="schema-text"
        label="JSON Schema of the documents"
        hint="Empty: no schema. Changing it needs an admin key (the owner and the operator have one); stored documents are kept, and counted when they fail it."
        field=${field}
        onChange=${setField}
        rows=${12}
      />
      <button type="submit" disabled=${busy}>Save schema</button>
    </form>
  `
}
