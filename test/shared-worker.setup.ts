import { afterAll } from 'vitest'

// Files share their worker's process (isolate: false in vitest.config.ts): what one file leaves in
// process-wide state, the next file inherits. This runs around every file and fails the file that
// leaves the environment, the working directory or the exit code changed.
const env = { ...process.env }
const cwd = process.cwd()
const descriptor = Object.getOwnPropertyDescriptor(process, 'env')

afterAll(() => {
  const left: string[] = []
  if (Object.getOwnPropertyDescriptor(process, 'env')?.value !== descriptor?.value) left.push('process.env replaced by another object (restore it in place)')
  const names = new Set([...Object.keys(env), ...Object.keys(process.env)])
  const changed = [...names].filter((name) => env[name] !== process.env[name])
  if (changed.length > 0) left.push(`environment variables changed: ${changed.sort().join(', ')}`)
  if (process.cwd() !== cwd) left.push(`working directory changed to ${process.cwd()}`)
  if (process.exitCode !== undefined && process.exitCode !== 0) left.push(`process.exitCode set to ${String(process.exitCode)}`)
  if (left.length > 0) throw new Error(`this file changed what the next file in its worker inherits: ${left.join('; ')}`)
})
