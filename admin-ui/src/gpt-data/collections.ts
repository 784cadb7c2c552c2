import { useState } from 'preact/hooks'
import type { FieldError } from '../api.js'
import { GptNav } from '../gpt-nav.js'
import { html } from '../html.js'
import { createCollection, getCollection, listCollections } from './data-api.js'
import { describe, errorsUnder, FieldErrors, fieldErrors, invalid, when } from './form.js'
import { emptyJson, JsonField, readJson, type JsonText } from './json-field.js'
import { Pager, usePages } from './pager.js'

export const collectionHref = (gpt: string, name: string) => `#/gpts/${encodeURIComponent(gpt)}/collections/${encodeURIComponent(name)}`

/** A GPT's collections: the list, and a form to create one with an optional JSON Schema. */
export function Collections({ gptId }: { gptId: string }) {
  const pages = usePages(gptId, (cursor) => listCollections(gptId, cursor))
  const [message, setMessage] = useState('')

  return html`
    <${GptNav} gptId=${gptId} current="collections" />
    <h1 tabindex="-1">Collections of <code>${gptId}</code></h1>
    ${pages.failure !== null && html`<p role="alert" class="error">${describe(pages.failure)}</p>`}
    <p role="status" class="status">${message}</p>
    ${pages.page === null && pages.failure === null && html`<p role="status">Loading collections…</p>`}
    ${pages.page !== null &&
    html`
      <div class="scroll">
        <table>
          <caption>Collections</caption>
          <thead>
            <tr><th scope="col">Name</th><th scope="col">Schema</th><th scope="col">Per user</th><th scope="col">Documents live</th><th scope="col">Created</th></tr>
          </thead>
          <tbody>
            ${pages.page.items.length === 0 && html`<tr><td colspan="5">No collections yet.</td></tr>`}
            ${pages.page.items.map(
              (collection) => html`
                <tr key=${collection.name}>
                  <th scope="row"><a href=${collectionHref(gptId, collection.name)}>${collection.name}</a></th>
                  <td>${collection.schema ? 'yes' : 'none'}</td>
                  <td>${collection.per_user ? 'yes' : 'no'}</td>
                  <td>${collection.ttl_seconds === null ? 'for ever' : `${collection.ttl_seconds} s after the last write`}</td>
                  <td>${when(collection.created_at)}</td>
                </tr>
              `,
            )}
          </tbody>
        </table>
      </div>
      <${Pager} label="Collection pages" number=${pages.number} hasNext=${pages.page.next !== null} onPrevious=${pages.previous} onNext=${pages.next} />
    `}
    <${CreateCollection}
      gptId=${gptId}
      onCreated=${(name: string) => {
        setMessage(`Collection ${name} created.`)
        pages.reload()
      }}
    />
  `
}

function CreateCollection({ gptId, onCreated }: { gptId: string; onCreated: (name: string) => void }) {
  const [name, setName] = useState('')
  const [schema, setSchema] = useState<JsonText>(emptyJson())
  const [perUser, setPerUser] = useState(false)
  const [ttl, setTtl] = useState('')
  const [errors, setErrors] = useState<FieldError[]>([])
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)

  async function submit(event: Event) {
    event.preventDefault()
    setError('')
    setErrors([])
    const read = readJson(schema, 'The schema')
    setSchema(read.field)
    if (!('value' in read)) return setError('The schema is not a JSON object; see under the schema.')
    setBusy(true)
    try {
      // The API's POST also updates an existing collection: a create from here must not change one unseen.
      if (await getCollection(gptId, name.trim()).then(() => true, () => false)) {
        setErrors([{ pointer: '/name', message: 'is taken: open that collection to change its schema' }])
        return setError(`A collection named ${name.trim()} exists already.`)
      }
      await createCollection(gptId, {
        name: name.trim(),
        ...(read.value ? { schema: read.value } : {}),
        ...(perUser ? { per_user: true } : {}),
        ...(ttl.trim() ? { ttl_seconds: Number(ttl) } : {}),
      })
      onCreated(name.trim())
      setName('')
      setSchema(emptyJson())
      setPerUser(false)
      setTtl('')
    } catch (failure) {
      setError(describe(failure))
      const found = fieldErrors(failure)
      setErrors(found)
      setSchema({ ...read.field, errors: errorsUnder(found, '/schema') })
    } finally {
      setBusy(false)
    }
  }

  const nameErrors = errorsUnder(errors, '/name')
  const ttlErrors = errorsUnder(errors, '/ttl_seconds')
  return html`
    <form class="card wide" onSubmit=${submit} aria-labelledby="create-collection-title" novalidate>
      <h2 id="create-collection-title">Create a collection</h2>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      <label for="collection-name">Name</label>
      <input id="collection-name" value=${name} required maxlength="64" onInput=${(e: Event) => setName((e.currentTarget as HTMLInputElement).value)} ...${invalid('collection-name-errors', nameErrors)} />
      <${FieldErrors} id="collection-name-errors" errors=${nameErrors} />
      <${JsonField}
        id="collection-schema"
        label="JSON Schema (optional)"
        hint="Documents must satisfy it (draft 2020-12, or draft-07 by $schema). Errors are shown with their line."
        field=${schema}
        onChange=${setSchema}
      />
      <label class="check"><input type="checkbox" checked=${perUser} onChange=${(e: Event) => setPerUser((e.currentTarget as HTMLInputElement).checked)} /> Per-user documents (each end user sees only their own)</label>
      <label for="collection-ttl">Seconds a document lives after its last write (empty: for ever)</label>
      <input id="collection-ttl" type="number" min="1" inputmode="numeric" value=${ttl} onInput=${(e: Event) => setTtl((e.currentTarget as HTMLInputElement).value)} ...${invalid('collection-ttl-errors', ttlErrors)} />
      <${FieldErrors} id="collection-ttl-errors" errors=${ttlErrors} />
      <button type="submit" disabled=${busy}>Create collection</button>
    </form>
  `
}
