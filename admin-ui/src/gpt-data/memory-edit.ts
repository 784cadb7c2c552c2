import { useEffect, useRef, useState } from 'preact/hooks'
import type { FieldError } from '../api.js'
import { html } from '../html.js'
import { updateMemory, type Memory } from './data-api.js'
import { describe, errorsUnder, FieldErrors, fieldErrors, invalid } from './form.js'
import { emptyJson, JsonField, readJson, type JsonText } from './json-field.js'

/**
 * Edits a memory's content, and merges metadata into it (the API's PATCH merges by top-level key, so a
 * key left out stays as it was: the box holds only what to add or change, not the whole object).
 */
export function EditMemory({ gptId, memory, onSaved, onCancel }: { gptId: string; memory: Memory; onSaved: (saved: Memory) => void; onCancel: () => void }) {
  const [content, setContent] = useState(memory.content)
  const [metadata, setMetadata] = useState<JsonText>(emptyJson())
  const [errors, setErrors] = useState<FieldError[]>([])
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)
  const box = useRef<HTMLTextAreaElement>(null)

  // Opening the form moves the focus into it, so that the keyboard and a screen reader follow.
  useEffect(() => {
    setContent(memory.content)
    setMetadata(emptyJson())
    setErrors([])
    setError('')
    box.current?.focus()
  }, [memory.id])

  async function submit(event: Event) {
    event.preventDefault()
    setError('')
    setErrors([])
    const read = readJson(metadata, 'The metadata')
    setMetadata(read.field)
    if (!('value' in read)) return setError('The metadata is not a JSON object; see under it.')
    const body: Record<string, unknown> = { ...(content !== memory.content ? { content } : {}), ...(read.value ? { metadata: read.value } : {}) }
    if (Object.keys(body).length === 0) return setError('Nothing changed.')
    setBusy(true)
    try {
      onSaved(await updateMemory(gptId, memory.id, body))
    } catch (failure) {
      setError(describe(failure))
      setErrors(fieldErrors(failure))
      setMetadata({ ...read.field, errors: errorsUnder(fieldErrors(failure), '/metadata') })
    } finally {
      setBusy(false)
    }
  }

  const contentErrors = errorsUnder(errors, '/content')
  return html`
    <form class="card wide" onSubmit=${submit} aria-labelledby="edit-memory-title" novalidate>
      <h2 id="edit-memory-title">Edit a memory</h2>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      <label for="edit-memory-content">New content</label>
      <textarea id="edit-memory-content" ref=${box} rows="3" required value=${content} onInput=${(e: Event) => setContent((e.currentTarget as HTMLTextAreaElement).value)} ...${invalid('edit-memory-content-errors', contentErrors)}></textarea>
      <${FieldErrors} id="edit-memory-content-errors" errors=${contentErrors} />
      <${JsonField}
        id="edit-memory-metadata"
        label="Metadata to add or change (optional JSON object)"
        hint=${`Merged by key into ${Object.keys(memory.metadata).length ? JSON.stringify(memory.metadata) : 'its empty metadata'}; keys left out stay.`}
        field=${metadata}
        onChange=${setMetadata}
        rows=${3}
      />
      <div class="row">
        <button type="submit" disabled=${busy}>Save memory</button>
        <button type="button" class="secondary" onClick=${onCancel}>Cancel</button>
      </div>
    </form>
  `
}
