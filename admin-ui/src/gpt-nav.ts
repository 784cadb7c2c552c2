import { html } from './html.js'

const PAGES = [
  ['collections', 'Collections'],
  ['memories', 'Memories'],
  ['search', 'Search'],
  ['chat', 'Chat'],
  ['mail', 'Mail'],
  ['audit', 'Audit log'],
  ['connect', 'Connect'],
  ['keys', 'Keys'],
  ['apps', 'Apps'],
] as const

export type GptPage = (typeof PAGES)[number][0]

export const gptHref = (gptId: string, page: GptPage, rest = '') => `#/gpts/${encodeURIComponent(gptId)}/${page}${rest}`

/** The pages of one GPT, the current one marked for screen readers. */
export function GptNav({ gptId, current }: { gptId: string; current: GptPage }) {
  return html`
    <nav class="gpt-nav" aria-label=${`GPT ${gptId}`}>
      <a href="#/">All GPTs</a>
      ${PAGES.map(([page, label]) => html`<a href=${gptHref(gptId, page)} aria-current=${page === current ? 'page' : undefined}>${label}</a>`)}
    </nav>
  `
}
