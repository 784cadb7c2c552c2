import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

/** A port free right now on loopback, for a service process the bench starts. */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

export async function json<T>(response: Response): Promise<T> {
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`)
  return (await response.json()) as T
}

/** Creates a GPT through the admin API, and a key on it with `scopes`; answers the key (`ak_…`). */
export async function createGptKey(base: string, adminToken: string, gpt: { id: string; name: string }, scopes: string[]): Promise<string> {
  const admin = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }
  await json(await fetch(`${base}/v1/admin/gpts`, { method: 'POST', headers: admin, body: JSON.stringify(gpt) }))
  const key: { key: string } = await json(await fetch(`${base}/v1/admin/gpts/${gpt.id}/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ scopes }) }))
  return key.key
}

/** A database of its own for the run: a temp PGlite dir, or a new PostgreSQL database (dropped after). */
export async function benchDatabase(context: { db: 'pglite' | 'postgres'; postgresUrl: string }): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  if (context.db === 'pglite') {
    const dir = await mkdtemp(join(tmpdir(), 'agentstore-bench-'))
    return { env: { DATA_DIR: dir }, drop: () => rm(dir, { recursive: true, force: true }) }
  }
  const name = `agentstore_bench_${randomBytes(4).toString('hex')}`
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: context.postgresUrl })
    await client.connect()
    await client.query(sql)
    await client.end()
  }
  await admin(`CREATE DATABASE ${name}`)
  const url = new URL(context.postgresUrl)
  url.pathname = `/${name}`
  return { env: { DATABASE_URL: url.toString() }, drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) }
}

export async function waitForHealth(url: string): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt++) {
    try {
      if ((await fetch(`${url}/health`)).ok) return
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${url} did not become healthy`)
}
