// The bench's baseline: a bare node:http server doing the service's primary-key select of one JSONB
// row through `pg`, with nothing else (no framework, auth, validation or logging).
import { createServer } from 'node:http'
import { openDatabase } from '../src/platform/db/database.js'

const [gptId, objectId] = [process.env.BENCH_GPT_ID!, process.env.BENCH_OBJECT_ID!]
const database = await openDatabase(
  process.env.DATABASE_URL
    ? { kind: 'postgres', url: process.env.DATABASE_URL, poolSize: 10 }
    : { kind: 'pglite', dataDir: process.env.DATA_DIR! },
)
const server = createServer((_request, response) => {
  database.pool
    .query('select id, body, created_at, updated_at from objects where gpt_id = $1 and id = $2', [gptId, objectId])
    .then((result) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify(result.rows[0]))
    })
    .catch((error: Error) => {
      response.writeHead(500)
      response.end(error.message)
    })
})
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  process.stdout.write(`${JSON.stringify({ listening: typeof address === 'object' && address ? address.port : 0 })}\n`)
})
process.on('SIGTERM', () => {
  server.close()
  void database.close().then(() => process.exit(0))
})
