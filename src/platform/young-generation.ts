import { setFlagsFromString } from 'node:v8'

/** V8's own value (flag-definitions.h); the young generation doubles when most of it survives a scavenge. */
const V8_DEFAULT_GROWTH = 2

/**
 * Loading the service (thousands of modules, route schemas compiled, migrations checked) allocates
 * mostly objects that live on, so V8 grows the young generation to its 32 MB maximum during start,
 * and an idle server keeps those pages resident. Holding it at its initial 1 MB semi-spaces until the
 * service is up saves that; afterwards traffic grows it as before, so throughput is unchanged. The
 * growth factor is read at each resize, which is why changing it on a running isolate is safe.
 */
export function holdYoungGeneration(): void {
  setFlagsFromString('--semi-space-growth-factor=1')
}

/** Lets the young generation grow with the allocation rate again (at the end of start). */
export function releaseYoungGeneration(): void {
  setFlagsFromString(`--semi-space-growth-factor=${V8_DEFAULT_GROWTH}`)
}
