import type { ComponentChildren, RefObject } from 'preact'
import { useState } from 'preact/hooks'
import type { FieldError } from '../api.js'
import { html } from '../html.js'
import { describe, errorsUnder, FieldErrors, fieldErrors, invalid } from './form.js'
import { emptyJson, readJson, type JsonText } from './json-field.js'

/** Sends a memory with the typed metadata (null: none), or returns why it is not sent. */
type Save = (metadata: Record<string, unknown> | null) => Promise<void> | string

/** The state the add and edit forms of a memory share: the metadata box, the API's errors, and a busy flag while a save runs. */
export function useMemoryForm() {
  const [metadata, setMetadata] = useState<JsonText>(emptyJson())
  const [errors, setErrors] = useState<FieldError[]>([])
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)

  const reset = () => {
    setMetadata(emptyJson())
    setErrors([])
    setError('')
  }

  /** The submit handler: the metadata must be a JSON object (or empty) before `save` runs; a failure is shown under its fields. */
  const submit = (save: Save) => async (event: Event) => {
    event.preventDefault()
    setError('')
    setErrors([])
    const read = readJson(metadata, 'The metadata')
    setMetadata(read.field)
    if (!('value' in read)) return setError('The metadata is not a JSON object; see under it.')
    const saving = save(read.value)
    if (typeof saving === 'string') return setError(saving)
    setBusy(true)
    try {
      await saving
    } catch (failure) {
      setError(describe(failure))
      setErrors(fieldErrors(failure))
      setMetadata({ ...read.field, errors: errorsUnder(fieldErrors(failure), '/metadata') })
    } finally {
      setBusy(false)
    }
  }

  return { metadata, setMetadata, errors, error, busy, reset, submit }
}

export type MemoryFormState = ReturnType<typeof useMemoryForm>

/** A memory form: its title, the alert, and the content box with its errors; the fields that differ follow as children. */
export function MemoryForm(props: {
  form: MemoryFormState
  onSubmit: (event: Event) => void
  /** The form's ids start with it: `<id>-title`, `<id>-content`. */
  id: string
  title: string
  contentLabel: string
  content: string
  onContent: (event: Event) => void
  box?: RefObject<HTMLTextAreaElement>
  children: ComponentChildren
}) {
  const contentErrors = errorsUnder(props.form.errors, '/content')
  const [titleId, contentId, errorsId] = [`${props.id}-title`, `${props.id}-content`, `${props.id}-content-errors`]
  return html`
    <form class="card wide" onSubmit=${props.onSubmit} aria-labelledby=${titleId} novalidate>
      <h2 id=${titleId}>${props.title}</h2>
      ${props.form.error && html`<p role="alert" class="error">${props.form.error}</p>`}
      <label for=${contentId}>${props.contentLabel}</label>
      <textarea id=${contentId} ref=${props.box} rows="3" required value=${props.content} onInput=${props.onContent} ...${invalid(errorsId, contentErrors)}></textarea>
      <${FieldErrors} id=${errorsId} errors=${contentErrors} />
      ${props.children}
    </form>
  `
}
