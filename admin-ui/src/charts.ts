import { html } from './html.js'

export interface Point {
  /** What a screen reader and the table say for the point (a time). */
  label: string
  /** Null: nothing to draw (a minute without requests has no latency). */
  value: number | null
}

const W = 600
const H = 120

/**
 * A time series as inline SVG (no chart library, nothing inline for the CSP to refuse: attributes
 * only, colours from the stylesheet). The picture is summarised in its aria-label; the numbers
 * themselves are in a table under a disclosure, for screen readers and for anyone who wants them.
 */
export function TimeChart({ id, title, points, unit, kind, digits = 0 }: { id: string; title: string; points: Point[]; unit: string; kind: 'columns' | 'line'; digits?: number }) {
  const values = points.map((point) => point.value).filter((value): value is number => value !== null)
  const max = Math.max(0, ...values)
  const top = max > 0 ? max : 1
  const fmt = (value: number) => `${value.toFixed(digits)}${unit}`
  const latest = [...points].reverse().find((point) => point.value !== null)
  const summary = values.length
    ? `${title}: latest ${latest ? fmt(latest.value!) : 'none'}, highest ${fmt(max)}, over ${points.length} minutes.`
    : `${title}: no data in the last ${points.length} minutes.`
  const step = W / Math.max(1, points.length)
  const y = (value: number) => H - (value / top) * (H - 4)
  let shape
  if (kind === 'columns') {
    shape = points.map((point, i) =>
      point.value ? html`<rect class="bar" x=${(i * step + 1).toFixed(1)} y=${y(point.value).toFixed(1)} width=${Math.max(1, step - 2).toFixed(1)} height=${(H - y(point.value)).toFixed(1)} />` : null,
    )
  } else {
    // A gap where there is no value, rather than a line through a quiet minute.
    const path = points
      .map((point, i) => (point.value === null ? null : `${(i * step + step / 2).toFixed(1)},${y(point.value).toFixed(1)}`))
      .reduce<string[]>((runs, at, i) => {
        if (at === null) return runs
        const previous = points[i - 1]
        runs.push(`${i === 0 || previous?.value === null ? 'M' : 'L'}${at}`)
        return runs
      }, [])
      .join(' ')
    // A value alone between quiet minutes is a dot: a path of one point draws nothing.
    const dots = points.map((point, i) =>
      point.value !== null && (points[i - 1]?.value ?? null) === null && (points[i + 1]?.value ?? null) === null
        ? html`<circle class="dot" cx=${(i * step + step / 2).toFixed(1)} cy=${y(point.value).toFixed(1)} r="3" />`
        : null,
    )
    shape = html`<path class="line" d=${path} />${dots}`
  }
  return html`
    <figure class="chart" aria-labelledby=${`${id}-title`}>
      <figcaption id=${`${id}-title`}>${title}</figcaption>
      <svg viewBox=${`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label=${summary} focusable="false">
        <line class="axis" x1="0" y1=${H - 0.5} x2=${W} y2=${H - 0.5} />
        ${shape}
      </svg>
      <p class="chart-scale"><span>${points[0]?.label ?? ''}</span><span>max ${fmt(max)}</span><span>${points.at(-1)?.label ?? ''}</span></p>
      <details>
        <summary>The numbers<span class="visually-hidden"> of ${title}</span></summary>
        <div class="scroll">
          <table>
            <caption class="visually-hidden">${title}, a row a minute</caption>
            <thead><tr><th scope="col">Minute</th><th scope="col">${title}</th></tr></thead>
            <tbody>
              ${points.map((point) => html`<tr><th scope="row">${point.label}</th><td class="number">${point.value === null ? '—' : fmt(point.value)}</td></tr>`)}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  `
}

/** A bar for a table cell: the number beside it says it, so the picture is hidden from screen readers. */
export function Bar({ value, max }: { value: number; max: number }) {
  const width = max > 0 ? Math.max(value > 0 ? 2 : 0, (value / max) * 100) : 0
  return html`<svg class="cell-bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" focusable="false"><rect class="bar" x="0" y="0" width=${width.toFixed(1)} height="10" /></svg>`
}
