// The chat bench's floor: a bare node:http server doing what any relay that keeps its replies must do
// before the provider's first token reaches its client, through `pg` and nothing else (no
// authentication, validation, audit, logging or SDK). It reads the session's recent history, then
// stores the pending reply and takes the session's lease in one committed statement, then calls the
// provider over a kept-alive socket and relays its text as Server-Sent Events; at the end it stores
// the reply complete and releases the lease. `POST /sessions` makes a session with one user message
// (untimed). On PostgreSQL it shares the service's database; on PGlite it opens a data directory of its own.
import { randomUUID } from 'node:crypto'
import http, { createServer, type ServerResponse } from 'node:http'
import { openDatabase } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { announceListening } from './lib/processes.js'

const gptId = process.env.BENCH_GPT_ID!
const provider = new URL(`${process.env.LLM_BASE_URL!}/chat/completions`)
const database = await openDatabase(
  process.env.DATABASE_URL ? { kind: 'postgres', url: process.env.DATABASE_URL, poolSize: 10 } : { kind: 'pglite', dataDir: process.env.DATA_DIR! },
)
if (!process.env.DATABASE_URL) await migrateToLatest(database.db)
await database.pool.query('insert into gpts (id, name) values ($1, $1) on conflict do nothing', [gptId])
const agent = new http.Agent({ keepAlive: true })
const query = <T>(text: string, values: unknown[]) => database.pool.query(text, values).then((result) => result.rows as T[])

async function createSession(): Promise<{ id: string }> {
  const id = randomUUID()
  await query('insert into chat_sessions (gpt_id, id, user_id) values ($1, $2, $3)', [gptId, id, 'bench'])
  await query("insert into chat_messages (gpt_id, session_id, id, sender, content) values ($1, $2, $3, 'user', $4)", [gptId, id, randomUUID(), process.env.BENCH_PROMPT ?? ''])
  return { id }
}

const LEASE_AND_STORE = `with lease as (
    update chat_sessions set generating_message_id = $3, generation_lease_until = now() + interval '60 seconds', last_activity_at = now(), updated_at = now()
    where gpt_id = $1 and id = $2 and (generating_message_id is null or generation_lease_until < now()) returning gpt_id, id)
  insert into chat_messages (gpt_id, session_id, id, sender, content, status, model)
  select gpt_id, id, $3, 'ai', '', 'in_progress', 'fake-model' from lease returning id`

/** Streams the provider's reply to `response` as `delta` events; resolves to the whole text. */
function relay(messages: { role: string; content: string }[], response: ServerResponse): Promise<string> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ model: 'fake-model', stream: true, messages })
    const request = http.request(provider, { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' } }, (upstream) => {
      let text = ''
      let buffer = ''
      upstream.setEncoding('utf8')
      upstream.on('data', (chunk: string) => {
        buffer += chunk
        for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
          const line = buffer.slice(0, newline)
          buffer = buffer.slice(newline + 1)
          if (!line.startsWith('data: ') || line === 'data: [DONE]') continue
          const delta = (JSON.parse(line.slice(6)) as { choices: { delta?: { content?: string } }[] }).choices[0]?.delta?.content
          if (!delta) continue
          response.write(`event: delta\ndata: ${JSON.stringify({ offset: text.length, text: delta })}\n\n`)
          text += delta
        }
      })
      upstream.on('end', () => resolve(text))
      upstream.on('error', reject)
    })
    request.on('error', reject)
    request.end(body)
  })
}

async function generate(sessionId: string, response: ServerResponse): Promise<void> {
  const history = await query<{ sender: string; content: string }>(
    'select sender, content from chat_messages where gpt_id = $1 and session_id = $2 order by created_at desc, id desc limit 50',
    [gptId, sessionId],
  )
  const id = randomUUID()
  if ((await query(LEASE_AND_STORE, [gptId, sessionId, id])).length === 0) {
    response.writeHead(409).end()
    return
  }
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  response.write(`event: message\ndata: ${JSON.stringify({ id, status: 'in_progress' })}\n\n`)
  const messages = history.reverse().map((row) => ({ role: row.sender === 'ai' ? 'assistant' : 'user', content: row.content }))
  const content = await relay(messages, response)
  await query("update chat_messages set status = 'complete', content = $3, updated_at = now() where gpt_id = $1 and id = $2", [gptId, id, content])
  await query('update chat_sessions set generating_message_id = null, generation_lease_until = null where gpt_id = $1 and id = $2 and generating_message_id = $3', [gptId, sessionId, id])
  response.end(`event: done\ndata: ${JSON.stringify({ id, status: 'complete', content })}\n\n`)
}

const server = createServer((request, response) => {
  const work =
    request.method === 'POST' && request.url === '/sessions'
      ? createSession().then((session) => void response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(session)))
      : request.method === 'POST' && request.url?.startsWith('/generate/')
        ? generate(request.url.slice('/generate/'.length), response)
        : Promise.resolve(void response.writeHead(404).end())
  request.resume()
  work.catch((error: Error) => {
    if (!response.headersSent) response.writeHead(500)
    response.end(error.message)
  })
})
server.listen(0, '127.0.0.1', () => announceListening(server.address()))
process.on('SIGTERM', () => {
  agent.destroy()
  server.close(() => void database.close().then(() => process.exit(0)))
})
