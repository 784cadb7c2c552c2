import { html } from '../html.js'
import { CollectionPage } from './collection.js'
import { Collections } from './collections.js'
import { Memories } from './memories.js'
import { SearchPlayground } from './search.js'
import './gpt-data.css'

/** The pages of a GPT's data: its collections (and one collection), its memories, the search playground. */
export type DataRoute =
  | { page: 'collections'; gptId: string }
  | { page: 'collection'; gptId: string; name: string }
  | { page: 'memories'; gptId: string }
  | { page: 'search'; gptId: string }

export function dataRoute(hash: string): DataRoute | null {
  const found = /^#\/gpts\/([^/]+)\/(collections|memories|search)(?:\/([^/]+))?$/.exec(hash)
  if (!found) return null
  const gptId = decodeURIComponent(found[1]!)
  const [, , area, name] = found
  if (area === 'collections') return name === undefined ? { page: 'collections', gptId } : { page: 'collection', gptId, name: decodeURIComponent(name) }
  if (name !== undefined) return null
  return area === 'memories' ? { page: 'memories', gptId } : { page: 'search', gptId }
}

/** Both kinds of session reach a GPT's data the same way (Agentstore-GPT), so the pages need no session. */
export function DataPage({ route }: { route: DataRoute }) {
  switch (route.page) {
    case 'collections':
      return html`<${Collections} gptId=${route.gptId} />`
    case 'collection':
      return html`<${CollectionPage} gptId=${route.gptId} name=${route.name} />`
    case 'memories':
      return html`<${Memories} gptId=${route.gptId} />`
    case 'search':
      return html`<${SearchPlayground} gptId=${route.gptId} />`
  }
}
