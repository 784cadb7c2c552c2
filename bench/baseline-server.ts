// The bench's baselines: a bare server doing the service's queries through `pg`, with nothing else
// (no auth, validation, audit or logging). `/` is the primary-key select of one JSONB row, the issue's
// baseline for every scenario; `/list` (the newest 50 documents of collection `big`) and `POST
// /insert` (one document into `small`) are the same work as the list and POST scenarios, done bare:
// what the database and `pg` cost for them. BENCH_BASELINE=fastify serves `/` from a bare Fastify
// instead of node:http: the floor the framework alone sets.
import { createServer, type IncomingMessage } from 'node:http'
import Fastify from 'fastify'
import { openDatabase } from '../src/platform/db/database.js'
import { announceListening } from './lib/processes.js'

const [gptId, objectId] = [process.env.BENCH_GPT_ID!, process.env.BENCH_OBJECT_ID!]
const database = await openDatabase(
  process.env.DATABASE_URL
    ? { kind: 'postgres', url: process.env.DATABASE_URL, poolSize: 10 }
    : { kind: 'pglite', dataDir: process.env.DATA_DIR! },
)
const selectOne = () =>
  database.pool.query('select id, body, created_at, updated_at from objects where gpt_id = $1 and id = $2', [gptId, objectId]).then((result) => result.rows[0])
const listFifty = () =>
  database.pool
    .query("select id, body, created_at, updated_at from objects where gpt_id = $1 and collection = 'big' order by created_at desc, id desc limit 51", [gptId])
    .then((result) => ({ objects: result.rows.slice(0, 50) }))
const insertOne = (body: string) =>
  database.pool
    .query("insert into objects (gpt_id, id, collection, body) values ($1, gen_random_uuid(), 'small', $2) returning id, body, created_at, updated_at", [gptId, body])
    .then((result) => result.rows[0])

const readBody = (request: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    let text = ''
    request.setEncoding('utf8')
    request.on('data', (chunk: string) => (text += chunk))
    request.on('end', () => resolve(text))
    request.on('error', reject)
  })

/** One request's work, by path. */
function answer(request: IncomingMessage): Promise<unknown> {
  if (request.url === '/list') return listFifty()
  // The body is parsed, as the service parses it, and stored as sent.
  if (request.url === '/insert') return readBody(request).then((text) => insertOne(JSON.stringify(JSON.parse(text))))
  return selectOne()
}

let close: () => Promise<void>
if (process.env.BENCH_BASELINE === 'fastify') {
  const app = Fastify()
  app.get('/', () => selectOne())
  await app.listen({ host: '127.0.0.1', port: 0 })
  announceListening(app.server.address())
  close = () => app.close()
} else {
  const server = createServer((request, response) => {
    answer(request)
      .then((row) => {
        response.writeHead(request.url === '/insert' ? 201 : 200, { 'content-type': 'application/json' })
        response.end(JSON.stringify(row))
      })
      .catch((error: Error) => {
        response.writeHead(500)
        response.end(error.message)
      })
  })
  server.listen(0, '127.0.0.1', () => announceListening(server.address()))
  close = () => new Promise((resolve) => server.close(() => resolve()))
}
process.on('SIGTERM', () => {
  void close().then(() => database.close()).then(() => process.exit(0))
})
