import { useEffect, useRef, useState } from 'preact/hooks'
import { ApiError } from '../api.js'
import { html } from '../html.js'
import { deleteDocument, readDocument, replaceDocument, type StoredDocument } from './data-api.js'
import { describe, fieldErrors, formatWithLines, when } from './form.js'
import { JsonField, readJson, type JsonText } from './json-field.js'

interface Version {
  document: StoredDocument
  etag: string
}

const fieldOf = (document: StoredDocument): JsonText => ({ ...formatWithLines(document.body), errors: [] })

/**
 * One document: its body to edit, saved only over the version that was opened (If-Match). When someone
 * else changed it meanwhile, nothing is overwritten: the page shows both versions and lets the person choose.
 */
export function DocumentEditor({ gptId, id, onClose, onChanged }: { gptId: string; id: string; onClose: () => void; onChanged: (message: string) => void }) {
  const [opened, setOpened] = useState<Version | null>(null)
  const [field, setField] = useState<JsonText>({ text: '', errors: [] })
  const [conflict, setConflict] = useState<Version | null>(null)
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)
  const heading = useRef<HTMLHeadingElement>(null)

  const open = (version: Version) => {
    setOpened(version)
    setField(fieldOf(version.document))
    setConflict(null)
    setError('')
  }

  useEffect(() => {
    // The editor opens below the list: a keyboard or screen reader user is taken to it.
    heading.current?.focus()
    setOpened(null)
    setError('')
    readDocument(gptId, id).then(open, (failure) => setError(describe(failure)))
  }, [gptId, id])

  /** A 412: someone changed (or deleted) the document since it was opened; show what it is now. */
  async function changedMeanwhile(action: string) {
    try {
      setConflict(await readDocument(gptId, id))
      setError(`Not ${action}: this document was changed by someone else after you opened it, and nothing was overwritten. Compare the current version below with yours.`)
    } catch (failure) {
      setError(failure instanceof ApiError && failure.status === 404 ? `Not ${action}: this document was deleted by someone else after you opened it.` : describe(failure))
    }
  }

  async function save(event: Event, etag = opened?.etag) {
    event.preventDefault()
    if (!opened || etag === undefined) return
    setError('')
    const read = readJson(field, 'The document')
    setField(read.field)
    if (!('value' in read) || read.value === null) return setError('The document must be a JSON object.')
    setBusy(true)
    try {
      const saved = await replaceDocument(gptId, id, read.value, etag)
      open(saved)
      onChanged(`Document ${id} saved.`)
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 412) await changedMeanwhile('saved')
      else {
        setError(describe(failure))
        setField({ ...read.field, errors: fieldErrors(failure) })
      }
    } finally {
      setBusy(false)
    }
  }

  async function remove() {
    if (!opened || !window.confirm(`Delete the document ${id}? This cannot be undone.`)) return
    setError('')
    setBusy(true)
    try {
      await deleteDocument(gptId, id, opened.etag)
      onChanged(`Document ${id} deleted.`)
      onClose()
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 412) await changedMeanwhile('deleted')
      else setError(describe(failure))
    } finally {
      setBusy(false)
    }
  }

  return html`
    <section class="card wide editor" aria-labelledby="editor-title">
      <h2 id="editor-title" tabindex="-1" ref=${heading}>Document <code>${id}</code></h2>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      ${opened === null && !error && html`<p role="status">Loading the document…</p>`}
      ${opened !== null &&
      html`
        <p class="hint">Created ${when(opened.document.created_at)}, changed ${when(opened.document.updated_at)}; version <code>${opened.etag}</code>.</p>
        <form onSubmit=${save}>
          <${JsonField} id="document-body" label="Body (JSON)" field=${field} onChange=${setField} rows=${12} required=${true} />
          <div class="row">
            <button type="submit" disabled=${busy || conflict !== null}>Save document</button>
            <button type="button" class="danger" disabled=${busy || conflict !== null} onClick=${remove}>Delete document</button>
            <button type="button" class="secondary" onClick=${onClose}>Close</button>
          </div>
        </form>
      `}
      ${conflict !== null &&
      html`
        <div class="conflict">
          <label for="document-current">Current version <code>${conflict.etag}</code>, changed ${when(conflict.document.updated_at)}</label>
          <textarea id="document-current" class="code" rows="8" readonly value=${formatWithLines(conflict.document.body).text}></textarea>
          <div class="row">
            <button type="button" class="secondary" onClick=${() => open(conflict)}>Discard mine, edit the current version</button>
            <button type="button" class="danger" onClick=${(event: Event) => save(event, conflict.etag)}>Save mine over the current version</button>
          </div>
        </div>
      `}
    </section>
  `
}
