// The bench's baselines: a bare server doing the service's primary-key select of one JSONB row
// through `pg`, with nothing else (no auth, validation, audit or logging). BENCH_BASELINE=fastify
// serves it from a bare Fastify instead of node:http: the floor the framework alone sets.
import { createServer } from 'node:http'
import Fastify from 'fastify'
import { openDatabase } from '../src/platform/db/database.js'

const [gptId, objectId] = [process.env.BENCH_GPT_ID!, process.env.BENCH_OBJECT_ID!]
const database = await openDatabase(
  process.env.DATABASE_URL
    ? { kind: 'postgres', url: process.env.DATABASE_URL, poolSize: 10 }
    : { kind: 'pglite', dataDir: process.env.DATA_DIR! },
)
const selectOne = () =>
  database.pool.query('select id, body, created_at, updated_at from objects where gpt_id = $1 and id = $2', [gptId, objectId]).then((result) => result.rows[0])

const announce = (port: number) => process.stdout.write(`${JSON.stringify({ listening: port })}\n`)
let close: () => Promise<void>
if (process.env.BENCH_BASELINE === 'fastify') {
  const app = Fastify()
  app.get('/', () => selectOne())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  announce(typeof address === 'object' && address ? address.port : 0)
  close = () => app.close()
} else {
  const server = createServer((_request, response) => {
    selectOne()
      .then((row) => {
        response.writeHead(200, { 'content-type': 'application/json' })
        response.end(JSON.stringify(row))
      })
      .catch((error: Error) => {
        response.writeHead(500)
        response.end(error.message)
      })
  })
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    announce(typeof address === 'object' && address ? address.port : 0)
  })
  close = () => new Promise((resolve) => server.close(() => resolve()))
}
process.on('SIGTERM', () => {
  void close().then(() => database.close()).then(() => process.exit(0))
})
