import { useState } from 'preact/hooks'
import type { FieldError } from '../api.js'
import { html } from '../html.js'
import { exportCollection, importCollection } from './data-api.js'
import { describe, FieldErrors, fieldErrors } from './form.js'

/** Every document of the collection as NDJSON (a download), and an NDJSON file imported all or nothing. */
export function Transfer({ gptId, name, onImported }: { gptId: string; name: string; onImported: () => void }) {
  const [message, setMessage] = useState('')
  const [error, setError] = useState('')
  const [errors, setErrors] = useState<FieldError[]>([])
  const [busy, setBusy] = useState(false)

  async function download() {
    setError('')
    setBusy(true)
    try {
      const text = await exportCollection(gptId, name)
      const link = document.createElement('a')
      link.href = URL.createObjectURL(new Blob([text], { type: 'application/x-ndjson' }))
      link.download = `${name}.ndjson`
      link.click()
      URL.revokeObjectURL(link.href)
      const lines = text.split('\n').filter((line) => line.trim() !== '').length
      setMessage(`Exported ${lines} document${lines === 1 ? '' : 's'} to ${name}.ndjson.`)
    } catch (failure) {
      setError(describe(failure))
    } finally {
      setBusy(false)
    }
  }

  async function upload(event: Event) {
    event.preventDefault()
    const file = (event.currentTarget as HTMLFormElement).querySelector<HTMLInputElement>('input[type=file]')?.files?.[0]
    setError('')
    setErrors([])
    if (!file) return setError('Choose an NDJSON file first.')
    setBusy(true)
    try {
      const { imported } = await importCollection(gptId, name, await file.text())
      setMessage(`Imported ${imported} document${imported === 1 ? '' : 's'} from ${file.name}.`)
      onImported()
    } catch (failure) {
      setError(describe(failure))
      setErrors(fieldErrors(failure))
    } finally {
      setBusy(false)
    }
  }

  return html`
    <section class="card wide" aria-labelledby="transfer-title">
      <h2 id="transfer-title">Export and import</h2>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      <p role="status" class="status">${message}</p>
      <div class="row"><button type="button" class="secondary" disabled=${busy} onClick=${download}>Export as NDJSON</button></div>
      <form onSubmit=${upload}>
        <label for="import-file">NDJSON file to import (one document per line; nothing is stored if a line fails)</label>
        <input id="import-file" type="file" accept=".ndjson,.jsonl,application/x-ndjson" aria-describedby=${errors.length > 0 ? 'import-errors' : undefined} />
        <${FieldErrors} id="import-errors" errors=${errors} />
        <button type="submit" disabled=${busy}>Import</button>
      </form>
    </section>
  `
}
