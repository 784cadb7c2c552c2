import { html } from '../html.js'
import type { Mail } from './types.js'

/** Mail as a list of articles, each with its sender, recipients and time; agents shown by name where known. */
export function MailList({ mail, names, label }: { mail: (Mail & { direction?: string })[]; names: Record<string, string>; label: string }) {
  const name = (id: string) => names[id] ?? id
  return html`
    <ol class="mail" aria-label=${label}>
      ${mail.map(
        (item) => html`
          <li key=${item.id} class=${item.direction === 'sent' ? 'sent' : 'received'}>
            <p class="meta">
              <strong>${name(item.from)}</strong> → ${item.to.map((to) => name(to.agent_id)).join(', ')} ·
              <time datetime=${item.created_at}>${new Date(item.created_at).toLocaleString()}</time>
              ${item.direction && html` · ${item.direction}`}${item.importance !== 5 && html` · importance ${item.importance}`}
            </p>
            <p class="text">${item.content}</p>
          </li>
        `,
      )}
    </ol>
  `
}
