import { isAbsolute, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

// The same file from src/cli (sources) and dist/cli (the build): the package's own bin script.
const BIN = fileURLToPath(new URL('../../bin/agentstore.js', import.meta.url))

/**
 * How to run this CLI from `cwd`, for the hints it and the server print: the package's own script by
 * its path. `npx agentstore` is never suggested: outside this checkout it fetches and runs an
 * unrelated npm package of that name.
 */
export function cliCommand(cwd = process.cwd()): string {
  const path = relative(cwd, BIN)
  const command = path.startsWith('..') || isAbsolute(path) ? BIN : `./${path}`
  return shellWord(command)
}

/** `text` as one word of a POSIX shell command line. */
export function shellWord(text: string): string {
  return /^[\w./@+:=-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`
}
