import { ApiError, type FieldError } from '../api.js'
import { html } from '../html.js'

/** What a failed call says to a person: the problem's detail, or that the server was not reached. */
export const describe = (failure: unknown) => (failure instanceof ApiError ? failure.detail || failure.title : 'The server could not be reached.')

/** The field errors of a failure, or none. */
export const fieldErrors = (failure: unknown): FieldError[] => (failure instanceof ApiError ? failure.errors : [])

/** The errors whose pointer is `pointer` or lies below it, with the pointer made relative to it. */
export function errorsUnder(errors: FieldError[], pointer: string): FieldError[] {
  return errors
    .filter((error) => error.pointer === pointer || error.pointer.startsWith(`${pointer}/`))
    .map((error) => ({ ...error, pointer: error.pointer.slice(pointer.length) }))
}

const escapeSegment = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1')

/**
 * The value as JSON.stringify(value, null, 2) writes it, and the line each JSON pointer starts on: so that
 * an error the API reports at a pointer is shown at its line of the text the person edits.
 */
export function formatWithLines(value: unknown): { text: string; lines: Map<string, number> } {
  const out: string[] = []
  const lines = new Map<string, number>()
  const walk = (item: unknown, pointer: string, indent: string, prefix: string, suffix: string) => {
    lines.set(pointer, out.length + 1)
    if (item === null || typeof item !== 'object') {
      out.push(`${indent}${prefix}${JSON.stringify(item)}${suffix}`)
      return
    }
    const list = Array.isArray(item)
    const entries: [string, unknown][] = list ? item.map((member, index) => [String(index), member]) : Object.entries(item)
    const [open, close] = list ? ['[', ']'] : ['{', '}']
    if (entries.length === 0) {
      out.push(`${indent}${prefix}${open}${close}${suffix}`)
      return
    }
    out.push(`${indent}${prefix}${open}`)
    entries.forEach(([key, member], index) =>
      walk(member, `${pointer}/${escapeSegment(key)}`, `${indent}  `, list ? '' : `${JSON.stringify(key)}: `, index < entries.length - 1 ? ',' : ''),
    )
    out.push(`${indent}${close}${suffix}`)
  }
  walk(value, '', '', '', '')
  return { text: out.join('\n'), lines }
}

/** The line of the deepest member of `pointer` that the text holds (a missing property: its object's line). */
export function lineOf(lines: Map<string, number>, pointer: string): number | undefined {
  for (let at = pointer; ; at = at.slice(0, at.lastIndexOf('/'))) {
    const line = lines.get(at)
    if (line !== undefined || at === '') return line
  }
}

/** Parses a JSON object typed by a person; the error says where the text stops being JSON. */
export function parseObject(text: string, what: string): { value: Record<string, unknown> } | { error: string } {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return { error: `${what} is not valid JSON: ${(error as Error).message}` }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { error: `${what} must be a JSON object ({…}).` }
  return { value: value as Record<string, unknown> }
}

/**
 * The errors of one field, listed under it (the field names the list in aria-describedby). With `lines`,
 * each error says the line of the text it belongs to.
 */
export function FieldErrors({ id, errors, lines }: { id: string; errors: FieldError[]; lines?: Map<string, number> }) {
  if (errors.length === 0) return null
  return html`
    <ul id=${id} class="field-errors">
      ${errors.map((error) => {
        const line = lines ? lineOf(lines, error.pointer) : undefined
        const where = [error.line !== undefined ? `line ${error.line}` : '', line !== undefined ? `line ${line}` : '', error.pointer ? html`<code>${error.pointer}</code>` : '']
          .filter((part) => part !== '')
        return html`<li>${where.length > 0 && html`${where.map((part, index) => html`${index > 0 ? ', ' : ''}${part}`)}: `}${error.message}</li>`
      })}
    </ul>
  `
}

/** aria attributes of a field with errors listed under `id`. */
export const invalid = (id: string, errors: FieldError[]) =>
  errors.length > 0 ? { 'aria-invalid': 'true', 'aria-describedby': id } : { 'aria-invalid': undefined, 'aria-describedby': undefined }

/** An ISO time, in the reader's locale. */
export const when = (iso: string) => new Date(iso).toLocaleString()
