import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { ERR } from '../../platform/errors.js'

/** Where `npm run build` puts the console: dist/admin-ui, the same from src/ (tsx) and from dist/. */
export const CONSOLE_ASSETS_DIR = fileURLToPath(new URL('../../../dist/admin-ui/', import.meta.url))

/** The only files served besides the page, with their types: nothing else in the directory is reachable. */
const FILES: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
}

/**
 * Scripts and styles from this origin only (no inline script or style, nothing from elsewhere),
 * calls to this origin only, never framed.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/** GET /admin (the page) and /admin/assets/{file} (its script and style), as built into the package. */
export function consoleAssetRoutes({ dir = CONSOLE_ASSETS_DIR }: { dir?: string } = {}) {
  const cache = new Map<string, Buffer>()
  async function file(name: string): Promise<Buffer> {
    const cached = cache.get(name)
    if (cached) return cached
    try {
      const content = await readFile(join(dir, name))
      cache.set(name, content)
      return content
    } catch {
      throw ERR.unavailable('The admin console is not built: run `npm run build`.')
    }
  }
  const secured = (reply: FastifyReply) =>
    reply.header('content-security-policy', CONSOLE_CSP).header('x-frame-options', 'DENY').header('referrer-policy', 'no-referrer')

  return async (app: FastifyInstance) => {
    app.get('/admin', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) =>
      secured(reply).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-cache').send(await file('index.html')),
    )
    app.get(
      '/admin/assets/:file',
      { config: { access: 'public' }, schema: { hide: true, params: Type.Object({ file: Type.String({ maxLength: 100 }) }) } },
      async (request, reply) => {
        const { file: name } = request.params as { file: string }
        const type = FILES[name]
        if (!type) throw ERR.notFound('Console asset', name)
        return secured(reply).header('content-type', type).header('cache-control', 'no-cache').send(await file(name))
      },
    )
  }
}
