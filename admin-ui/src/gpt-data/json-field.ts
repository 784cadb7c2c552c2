import type { FieldError } from '../api.js'
import { html } from '../html.js'
import { FieldErrors, formatWithLines, invalid, parseObject } from './form.js'

/**
 * A JSON object typed by a person (a schema, a document, metadata), with its errors listed under it at
 * the line they belong to. `errors` point into the object itself.
 */
export interface JsonText {
  text: string
  /** Lines of the members of the text as last formatted; errors are placed by them. */
  lines?: Map<string, number>
  errors: FieldError[]
}

export const emptyJson = (text = ''): JsonText => ({ text, errors: [] })

/** The object of the field (empty text: null), or the field with its syntax error. */
export function readJson(field: JsonText, what: string): { value: Record<string, unknown> | null; field: JsonText } | { field: JsonText } {
  if (field.text.trim() === '') return { value: null, field: { text: field.text, errors: [] } }
  const parsed = parseObject(field.text, what)
  if ('error' in parsed) return { field: { text: field.text, errors: [{ pointer: '', message: parsed.error }] } }
  // Formatted the way the error lines are counted, so that a line named below is the line in the box.
  const { text, lines } = formatWithLines(parsed.value)
  return { value: parsed.value, field: { text, lines, errors: [] } }
}

export function JsonField({
  id,
  label,
  hint,
  field,
  onChange,
  rows = 8,
  required = false,
}: {
  id: string
  label: string
  hint?: string
  field: JsonText
  onChange: (next: JsonText) => void
  rows?: number
  required?: boolean
}) {
  const errorsId = `${id}-errors`
  const hintId = hint ? `${id}-hint` : undefined
  const aria = invalid(errorsId, field.errors)
  const describedBy = [hintId, aria['aria-describedby']].filter(Boolean).join(' ') || undefined
  return html`
    <label for=${id}>${label}</label>
    ${hint && html`<p id=${hintId} class="hint">${hint}</p>`}
    <textarea
      id=${id}
      class="code"
      rows=${rows}
      spellcheck="false"
      required=${required}
      aria-invalid=${aria['aria-invalid']}
      aria-describedby=${describedBy}
      value=${field.text}
      onInput=${(event: Event) => onChange({ ...field, text: (event.currentTarget as HTMLTextAreaElement).value })}
    ></textarea>
    <${FieldErrors} id=${errorsId} errors=${field.errors} lines=${field.lines} />
  `
}
