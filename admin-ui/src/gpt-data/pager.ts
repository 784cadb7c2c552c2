import { useEffect, useState } from 'preact/hooks'
import { html } from '../html.js'

export interface PageOf<T> {
  items: T[]
  next: string | null
}

/**
 * Seek pagination over an API list: the cursors of the pages seen so far, so that "Previous" goes back
 * the way "Next" came. A new `key` (other filters) starts again at the first page.
 */
export function usePages<T>(key: string, load: (cursor: string | null) => Promise<PageOf<T>>) {
  const [at, setAt] = useState<{ key: string; stack: (string | null)[] }>({ key, stack: [null] })
  const [page, setPage] = useState<PageOf<T> | null>(null)
  const [failure, setFailure] = useState<unknown>(null)
  const [version, setVersion] = useState(0)
  const stack = at.key === key ? at.stack : [null]
  const cursor = stack[stack.length - 1] ?? null

  useEffect(() => {
    let live = true
    setFailure(null)
    load(cursor).then(
      (found) => live && setPage(found),
      (error: unknown) => {
        if (!live) return
        setPage(null)
        setFailure(error)
      },
    )
    return () => {
      live = false
    }
  }, [key, cursor, version])

  return {
    page,
    failure,
    number: stack.length,
    next: () => page?.next && setAt({ key, stack: [...stack, page.next] }),
    previous: () => stack.length > 1 && setAt({ key, stack: stack.slice(0, -1) }),
    reload: () => setVersion((value) => value + 1),
  }
}

/** "Previous" and "Next" under a list, with the page number. */
export function Pager({ label, number, hasNext, onPrevious, onNext }: { label: string; number: number; hasNext: boolean; onPrevious: () => void; onNext: () => void }) {
  return html`
    <nav class="pager" aria-label=${label}>
      <button type="button" class="secondary" disabled=${number <= 1} onClick=${onPrevious}>Previous page</button>
      <span>Page ${number}</span>
      <button type="button" class="secondary" disabled=${!hasNext} onClick=${onNext}>Next page</button>
    </nav>
  `
}
