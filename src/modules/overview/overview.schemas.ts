import { Type } from 'typebox'

const count = (description: string) => Type.Integer({ minimum: 0, description })
const when = (description: string) => Type.String({ format: 'date-time', description })

const OverviewGpt = Type.Object({
  id: Type.String(),
  name: Type.String(),
  documents: count('Documents in all its collections.'),
  memories: count('Memories, embedded or not.'),
  sessions: count('Chat sessions.'),
  agents: count('Mail agents.'),
  unread_mail: count('Deliveries not yet read by their recipient agent.'),
})

const Minute = Type.Object({
  at: when('The start of the minute (UTC).'),
  requests: count('Requests answered in that minute.'),
  errors: count('Of which answered with a 5xx status.'),
  p95_ms: Type.Union([Type.Number({ minimum: 0 }), Type.Null()], { description: '95th percentile of latency in milliseconds (interpolated in buckets about 12 % wide); null without requests.' }),
})

const JobRun = Type.Object({
  name: Type.String(),
  runs: count('Runs that ended in this process since it started.'),
  failures: count('Of which failed.'),
  last_run_at: Type.Union([when('When the last run ended.'), Type.Null()]),
  last_outcome: Type.Union([Type.Literal('completed'), Type.Literal('failed'), Type.Null()]),
})

const Backup = Type.Object({
  kind: Type.Union([Type.Literal('postgres'), Type.Literal('pglite')]),
  finished_at: when('When it finished.'),
  duration_ms: count('How long it took.'),
  size_bytes: count('Size of the backup file.'),
})

export const Overview = Type.Object(
  {
    gpts: Type.Array(OverviewGpt),
    gpts_truncated: Type.Boolean({ description: 'More GPTs than listed (100).' }),
    embedding_backlog: Type.Object(
      { memories: count('Memories not yet embedded (pending or failed).'), documents: count('Documents without a current vector.'), messages: count('Chat messages without a current vector.') },
      { description: 'Items still waiting for a vector of the current model, over the GPTs the caller can see.' },
    ),
    server: Type.Union([
      Type.Object(
        {
          process_started_at: when('When this process started.'),
          minutes: Type.Array(Minute, { description: 'The last 60 minutes, oldest first; the last one is still running.' }),
          jobs: Type.Array(JobRun, { description: 'Each background job this process runs.' }),
          last_backup: Type.Union([Backup, Type.Null()], { description: 'The newest backup in BACKUP_DIR, made by any process.' }),
        },
        { description: "This process's view (the operator only)." },
      ),
      Type.Null(),
    ]),
  },
  { $id: 'Overview' },
)
