import type { CompatSurface } from '../config.settings.js'
import type { HealthExtras } from '../modules/health/health.routes.js'
import { ADAPTER_WELCOME } from './adapter/adapter.shapes.js'

export const SERVICE_NAME = 'Agentstore'

/** The replaced systems' uptime text: "1d 2hrs 3mins 4s". */
function uptimeText(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000))
  const days = Math.floor(total / 86_400)
  const hours = Math.floor((total % 86_400) / 3600)
  const minutes = Math.floor((total % 3600) / 60)
  return `${days}d ${hours}hrs ${minutes}mins ${total % 60}s`
}

/**
 * /health, /live and /ready are shared by the house and every replaced system: each served surface
 * adds the fields its clients read, and the house's own fields (status, version, checks) stay as they are.
 */
export function compatHealthExtras(surfaces: readonly CompatSurface[], startedAt: Date): HealthExtras {
  const objectStore = surfaces.includes('objectstore')
  const chatStore = surfaces.includes('chatstore')
  const agentMail = surfaces.includes('agentmail')
  const fastWrap = surfaces.includes('fastwrap')
  const adapter = surfaces.includes('adapter')
  const service = objectStore ? { service: SERVICE_NAME } : {}
  return {
    health: () => {
      const at = new Date()
      const uptime = chatStore
        ? { start_time: startedAt.toISOString(), current_time: at.toISOString(), uptime: uptimeText(at.getTime() - startedAt.getTime()) }
        : {}
      // FastWrap's health answer was one field.
      return { ...service, ...uptime, ...(fastWrap ? { Health: 'OK' } : {}) }
    },
    // The object store's root document: its service name and where its docs and health are (the
    // house's landing already gives the version).
    root: () => ({
      ...(objectStore ? { ...service, docs: '/docs', health: '/health' } : {}),
      // The adapter's welcome line; the agent-messaging demo's, below, wins where both are served.
      ...(adapter ? { message: ADAPTER_WELCOME } : {}),
      // The agent-messaging demo's welcome line.
      ...(agentMail ? { message: 'FastAPI PostgreSQL Demo API' } : {}),
      // FastWrap's service info named the service in its own capitalised fields.
      ...(fastWrap ? { Title: SERVICE_NAME, Status: 'ok' } : {}),
    }),
    live: () => service,
    ready: () => service,
  }
}
