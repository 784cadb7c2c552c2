import { useEffect, useRef, useState } from 'preact/hooks'
import { html } from '../html.js'
import { updateMemory, type Memory } from './data-api.js'
import { JsonField } from './json-field.js'
import { MemoryForm, useMemoryForm } from './memory-form.js'

/**
 * Edits a memory's content, and merges metadata into it (the API's PATCH merges by top-level key, so a
 * key left out stays as it was: the box holds only what to add or change, not the whole object).
 */
export function EditMemory({ gptId, memory, onSaved, onCancel }: { gptId: string; memory: Memory; onSaved: (saved: Memory) => void; onCancel: () => void }) {
  const [content, setContent] = useState(memory.content)
  const form = useMemoryForm()
  const box = useRef<HTMLTextAreaElement>(null)

  // Opening the form moves the focus into it, so that the keyboard and a screen reader follow.
  useEffect(() => {
    setContent(memory.content)
    form.reset()
    box.current?.focus()
  }, [memory.id])

  const submit = form.submit((metadata) => {
    const body: Record<string, unknown> = { ...(content !== memory.content ? { content } : {}), ...(metadata ? { metadata } : {}) }
    if (Object.keys(body).length === 0) return 'Nothing changed.'
    return updateMemory(gptId, memory.id, body).then(onSaved)
  })

  return html`
    <${MemoryForm} form=${form} onSubmit=${submit} id="edit-memory" title="Edit a memory" contentLabel="New content" box=${box}
      content=${content} onContent=${(e: Event) => setContent((e.currentTarget as HTMLTextAreaElement).value)}>
      <${JsonField}
        id="edit-memory-metadata"
        label="Metadata to add or change (optional JSON object)"
        hint=${`Merged by key into ${Object.keys(memory.metadata).length ? JSON.stringify(memory.metadata) : 'its empty metadata'}; keys left out stay.`}
        field=${form.metadata}
        onChange=${form.setMetadata}
        rows=${3}
      />
      <div class="row">
        <button type="submit" disabled=${form.busy}>Save memory</button>
        <button type="button" class="secondary" onClick=${onCancel}>Cancel</button>
      </div>
    <//>
  `
}
