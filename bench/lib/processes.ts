import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { createInterface } from 'node:readline'

export interface Started {
  url: string
  child: ChildProcess
  stop(): Promise<void>
}

/**
 * Starts a TypeScript entry in its own process (so that the load generator does not share its event
 * loop). With `port` a function, waits until a line of its output names the port; with a number, the
 * caller knows the port and checks readiness itself.
 */
export async function startProcess(
  entry: string,
  args: string[],
  env: Record<string, string>,
  port: ((line: string) => number | null) | number,
): Promise<Started> {
  // The service's own build runs as `npm start` runs it; bench helpers written in TypeScript go through tsx.
  const loader = entry.endsWith('.ts') ? ['--import', 'tsx'] : []
  const child = spawn(process.execPath, [...loader, entry, ...args], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  // Its output is read only for the port. Unread, the pipe fills at 64 kB and the service's logger then keeps its lines in memory.
  if (typeof port === 'number') child.stdout!.resume()
  const listening = typeof port === 'number' ? port : await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start within 60 s`)), 60_000)
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}`)))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const found = port(line)
      if (found !== null) {
        clearTimeout(timer)
        resolve(found)
      }
    })
  })
  return {
    url: `http://127.0.0.1:${listening}`,
    child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

/** What a bench's own server prints once it listens, for portFromLog to read: `{"listening": port}`. */
export function announceListening(address: AddressInfo | string | null): void {
  process.stdout.write(`${JSON.stringify({ listening: typeof address === 'object' && address ? address.port : 0 })}\n`)
}

/** The service logs `{"url": …, "msg": "agentstore listening on …"}`; the benches' servers print `{"listening": port}` (announceListening). */
export function portFromLog(line: string): number | null {
  try {
    const parsed = JSON.parse(line) as { url?: string; listening?: number; msg?: string }
    if (typeof parsed.listening === 'number') return parsed.listening
    if (parsed.url && parsed.msg?.startsWith('agentstore listening')) return Number(new URL(parsed.url).port)
  } catch {
    // Not a JSON line.
  }
  return null
}

/**
 * CPU time (user + system, ms) a process has used so far, from Linux's /proc; NaN elsewhere. Under
 * load from other processes, CPU per request stays a steadier figure than requests per second.
 */
export function processCpuMs(pid: number | undefined): number {
  try {
    return statCpuMs(statFields(readFileSync(`/proc/${pid}/stat`, 'utf8')))
  } catch {
    return Number.NaN
  }
}

/** The fields of a /proc/<pid>/stat line from the third on (index 0 is field 3, the state). */
function statFields(stat: string): string[] {
  // They start after the command name, which may hold spaces, at the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

/** User + system CPU (ms) of a process's stat fields. */
function statCpuMs(fields: string[]): number {
  // utime and stime are fields 14 and 15 of the line, in clock ticks of 10 ms on Linux.
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** The last CPU reading of each PostgreSQL process seen, so that one that exits keeps counting what it used. */
const postgresSeen = new Map<string, number>()

/**
 * CPU time (ms) used so far by every process of a PostgreSQL running on this machine (the server, its
 * backends, WAL writer, checkpointer, autovacuum); NaN when there is none to read. A process that
 * exits counts with what it had used when last read (a backend's pool closing it while idle must not
 * take its past work out of the sum), so the figure never goes back.
 */
export function postgresCpuMs(): number {
  let found = false
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      if (!stat.includes('(postgres)')) continue
      const fields = statFields(stat)
      // Keyed by pid and start time (field 22): a pid used again is another process.
      postgresSeen.set(`${entry}@${fields[19]}`, statCpuMs(fields))
      found = true
    } catch {
      // The process ended while it was read.
    }
  }
  let total = 0
  for (const used of postgresSeen.values()) total += used
  return found ? total : Number.NaN
}
