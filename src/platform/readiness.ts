/** One thing /ready looks at. A failing critical check makes the service unready (503); others make it degraded. */
export interface ReadinessCheck {
  name: string
  /** Read after `run`, so that a check may decide from what it saw. */
  readonly critical: boolean
  /** Resolves to a short state ("ok", "pgvector", …) or throws with the reason. */
  run(): Promise<string>
}

export interface Readiness {
  status: 'ready' | 'degraded' | 'unavailable'
  checks: Record<string, { ok: boolean; state: string }>
}

const CHECK_TIMEOUT_MS = 2000

export async function checkReadiness(checks: ReadinessCheck[]): Promise<Readiness> {
  const results = await Promise.all(
    checks.map(async (check) => {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS)
      })
      try {
        return { check, ok: true, state: await Promise.race([check.run(), timeout]) }
      } catch (error) {
        return { check, ok: false, state: (error as Error).message }
      } finally {
        clearTimeout(timer)
      }
    }),
  )
  const status = results.some((r) => !r.ok && r.check.critical)
    ? 'unavailable'
    : results.some((r) => !r.ok)
      ? 'degraded'
      : 'ready'
  return { status, checks: Object.fromEntries(results.map((r) => [r.check.name, { ok: r.ok, state: r.state }])) }
}
