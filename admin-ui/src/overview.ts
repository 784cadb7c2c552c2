import { useEffect, useState } from 'preact/hooks'
import { call, describeFailure, type Session } from './api.js'
import { Bar, TimeChart, type Point } from './charts.js'
import { html } from './html.js'

interface OverviewGpt {
  id: string
  name: string
  documents: number
  memories: number
  sessions: number
  agents: number
  unread_mail: number
}

interface Minute {
  at: string
  requests: number
  errors: number
  p95_ms: number | null
}

interface JobRun {
  name: string
  runs: number
  failures: number
  last_run_at: string | null
  last_outcome: 'completed' | 'failed' | null
}

interface OverviewData {
  gpts: OverviewGpt[]
  gpts_truncated: boolean
  embedding_backlog: { memories: number; documents: number; messages: number }
  server: {
    process_started_at: string
    minutes: Minute[]
    jobs: JobRun[]
    last_backup: { kind: string; finished_at: string; duration_ms: number; size_bytes: number } | null
  } | null
}

const COUNTS = ['documents', 'memories', 'sessions', 'agents', 'unread_mail'] as const
const HEADINGS = { documents: 'Documents', memories: 'Memories', sessions: 'Sessions', agents: 'Agents', unread_mail: 'Unread mail' }
const time = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
const size = (bytes: number) => (bytes < 1024 ? `${bytes} B` : bytes < 1048576 ? `${(bytes / 1024).toFixed(1)} kB` : `${(bytes / 1048576).toFixed(1)} MB`)
function ago(iso: string): string {
  const minutes = Math.round((Date.now() - Date.parse(iso)) / 60_000)
  return minutes < 60 ? `${minutes} min ago` : minutes < 2880 ? `${Math.round(minutes / 60)} h ago` : `${Math.round(minutes / 1440)} days ago`
}

/** The GPTs this principal can see with their counts; for the operator, this process's traffic, job runs and last backup. */
export function Overview({ session }: { session: Session }) {
  const [data, setData] = useState<OverviewData | null>(null)
  const [error, setError] = useState('')
  const operator = session.kind === 'operator'

  const load = () => {
    setError('')
    call<OverviewData>('GET', operator ? '/v1/admin/overview' : '/v1/overview').then(setData, (failure: unknown) => setError(describeFailure(failure)))
  }
  useEffect(load, [session])

  const backlog = data?.embedding_backlog
  const backlogMax = backlog ? Math.max(backlog.memories, backlog.documents, backlog.messages) : 0
  return html`
    <h1 tabindex="-1">Overview</h1>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    ${data === null && !error && html`<p role="status">Loading…</p>`}
    ${data !== null &&
    html`
      <p class="row"><button type="button" class="secondary" onClick=${load}>Refresh</button></p>
      ${data.gpts.length === 0 ? html`<p>No GPTs yet.</p>` : html`<${GptTable} gpts=${data.gpts} operator=${operator} />`}
      ${data.gpts_truncated && html`<p class="muted">Only the first ${data.gpts.length} GPTs are listed.</p>`}
      ${data.server && html`<${Server} server=${data.server} />`}
      <section aria-labelledby="backlog-title">
        <h2 id="backlog-title">Embedding backlog</h2>
        <p class="muted">Items still waiting for a vector of the current model${operator ? '' : ' in your GPTs'}.</p>
        <table class="bars">
          <caption class="visually-hidden">Embedding backlog</caption>
          <tbody>
            ${(['memories', 'documents', 'messages'] as const).map(
              (source) => html`<tr><th scope="row">${source === 'messages' ? 'Chat messages' : source[0]!.toUpperCase() + source.slice(1)}</th><td class="number">${backlog![source]}</td><td class="bar-cell"><${Bar} value=${backlog![source]} max=${backlogMax} /></td></tr>`,
            )}
          </tbody>
        </table>
      </section>
    `}
  `
}

function GptTable({ gpts, operator }: { gpts: OverviewGpt[]; operator: boolean }) {
  return html`
    <div class="scroll">
      <table>
        <caption>${operator ? 'Every GPT on this server' : 'Your GPTs'}</caption>
        <thead>
          <tr>
            <th scope="col">GPT</th><th scope="col">Name</th>
            ${COUNTS.map((name) => html`<th scope="col">${HEADINGS[name]}</th>`)}
            <th scope="col"><span class="visually-hidden">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          ${gpts.map(
            (gpt) => html`
              <tr key=${gpt.id}>
                <th scope="row"><a href=${`#/gpts/${encodeURIComponent(gpt.id)}/chat`}><code>${gpt.id}</code></a></th>
                <td>${gpt.name}</td>
                ${COUNTS.map((name) => html`<td class="number">${gpt[name]}</td>`)}
                <td class="links">
                  <a href=${`#/gpts/${encodeURIComponent(gpt.id)}/keys`}>Keys<span class="visually-hidden"> of ${gpt.id}</span></a>
                  <a href=${`#/gpts/${encodeURIComponent(gpt.id)}/apps`}>Apps<span class="visually-hidden"> of ${gpt.id}</span></a>
                  <a href=${`#/gpts/${encodeURIComponent(gpt.id)}/collections`}>Collections<span class="visually-hidden"> of ${gpt.id}</span></a>
                  <a href=${`#/gpts/${encodeURIComponent(gpt.id)}/memories`}>Memories<span class="visually-hidden"> of ${gpt.id}</span></a>
                </td>
              </tr>
            `,
          )}
        </tbody>
      </table>
    </div>
  `
}

function Server({ server }: { server: NonNullable<OverviewData['server']> }) {
  const points = (value: (minute: Minute) => number | null): Point[] => server.minutes.map((minute) => ({ label: time(minute.at), value: value(minute) }))
  const backup = server.last_backup
  const jobMax = Math.max(0, ...server.jobs.map((job) => job.runs))
  return html`
    <section aria-labelledby="traffic-title">
      <h2 id="traffic-title">This process, the last hour</h2>
      <p class="muted">Counted by the process that answered this page since it started (${new Date(server.process_started_at).toLocaleString()}); other replicas count their own.</p>
      <div class="charts">
        <${TimeChart} id="chart-requests" title="Requests per minute" unit="" kind="columns" points=${points((minute) => minute.requests)} />
        <${TimeChart} id="chart-p95" title="p95 latency" unit=" ms" digits=${1} kind="line" points=${points((minute) => minute.p95_ms)} />
        <${TimeChart}
          id="chart-errors"
          title="Error rate (5xx)"
          unit=" %"
          digits=${1}
          kind="columns"
          points=${points((minute) => (minute.requests ? (100 * minute.errors) / minute.requests : null))}
        />
      </div>
    </section>
    <section aria-labelledby="backup-title">
      <h2 id="backup-title">Last backup</h2>
      <p>
        ${backup
          ? html`${ago(backup.finished_at)} (${new Date(backup.finished_at).toLocaleString()}): ${backup.kind}, ${size(backup.size_bytes)}, took ${(backup.duration_ms / 1000).toFixed(1)} s`
          : 'No backup in BACKUP_DIR yet.'}
      </p>
    </section>
    <section aria-labelledby="jobs-title">
      <h2 id="jobs-title">Job runs</h2>
      ${server.jobs.length === 0
        ? html`<p class="muted">This process runs no background jobs.</p>`
        : html`
            <div class="scroll">
              <table class="bars">
                <caption class="visually-hidden">Job runs in this process since it started</caption>
                <thead><tr><th scope="col">Job</th><th scope="col">Runs</th><th scope="col"><span class="visually-hidden">Runs, drawn</span></th><th scope="col">Failed</th><th scope="col">Last run</th></tr></thead>
                <tbody>
                  ${server.jobs.map(
                    (job) => html`
                      <tr>
                        <th scope="row"><code>${job.name}</code></th>
                        <td class="number">${job.runs}</td>
                        <td class="bar-cell"><${Bar} value=${job.runs} max=${jobMax} /></td>
                        <td class="number">${job.failures}</td>
                        <td>${job.last_run_at ? `${ago(job.last_run_at)}, ${job.last_outcome}` : 'not yet'}</td>
                      </tr>
                    `,
                  )}
                </tbody>
              </table>
            </div>
          `}
    </section>
  `
}
