import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser']

/** Debian's chromium, installed with apt-get when it is missing and this user may; otherwise why not. */
export function findOrInstallChromium(): { path: string; reason: null } | { path: null; reason: string } {
  const found = () => CANDIDATES.find((path) => existsSync(path)) ?? null
  let path = found()
  if (path) return { path, reason: null }
  let reason: string
  try {
    // Debian's package downloads from the distribution mirror only; playwright-core itself downloads nothing.
    execFileSync('apt-get', ['install', '-y', 'chromium'], { stdio: 'pipe', timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
    reason = 'apt-get install -y chromium ran but no chromium binary appeared'
  } catch (error) {
    const { stderr, message } = error as { stderr?: Buffer; message: string }
    reason = `chromium is not installed and apt-get install -y chromium failed: ${(stderr?.toString('utf8').trim().split('\n').pop() ?? message).slice(0, 300)}`
  }
  path = found()
  return path ? { path, reason: null } : { path: null, reason }
}
