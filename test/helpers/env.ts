/**
 * Puts process.env back to `saved` in place. Files share a worker's process (vitest's isolate: false),
 * so the next file must find node's own process.env, which turns what it is given into text, not a
 * plain object put in its place.
 */
export function restoreEnv(saved: Record<string, string | undefined>): void {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name]
  for (const [name, value] of Object.entries(saved)) if (value !== undefined) process.env[name] = value
}
