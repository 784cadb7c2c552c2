import type { CompatSurface } from '../config.settings.js'

/** The surfaces built so far; COMPAT accepts every name, and the start log lists the others as not available yet. */
export const AVAILABLE_SURFACES: readonly CompatSurface[] = ['objectstore', 'chatstore', 'agentmail', 'fastwrap', 'adapter']

export function servedSurfaces(requested: readonly CompatSurface[]): { served: CompatSurface[]; notYet: CompatSurface[] } {
  return {
    served: requested.filter((surface) => AVAILABLE_SURFACES.includes(surface)),
    notYet: requested.filter((surface) => !AVAILABLE_SURFACES.includes(surface)),
  }
}
