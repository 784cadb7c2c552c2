import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseEnv } from 'node:util'
import { ConfigError, loadConfig, type Config } from '../config.js'
import { isDataDir } from '../platform/db/data-dir-lock.js'
import { cliCommand } from './command.js'

export type Env = Record<string, string | undefined>

/**
 * The settings a CLI run sees: `.env` of the working directory, if there is one, under the real
 * environment (which wins). Read once here, not in loadConfig, which takes its environment as given.
 */
export function readEnv(cwd = process.cwd(), env: Env = process.env): { env: Env; file: string | null } {
  const file = resolve(cwd, '.env')
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return { env, file: null }
    throw new ConfigError([`${file}: cannot be read (${code ?? (error as Error).message})`])
  }
  return { env: { ...parseEnv(text), ...env }, file }
}

/** A command other than `serve` found no data where it looked; it creates none on its own. */
export class MissingDataDirError extends Error {
  constructor(readonly dataDir: string) {
    super(
      `no data directory at ${dataDir} (DATA_DIR defaults to ./data in the current directory).\n` +
        '  Run the command where the server runs, or say where the data is: --data-dir <dir> (or DATA_DIR=<dir>),\n' +
        `  or DATABASE_URL=postgres://… for PostgreSQL. \`${cliCommand()} serve\` makes a new data directory on its first start.`,
    )
    this.name = 'MissingDataDirError'
  }
}

/**
 * The settings of one command: the environment, with `--data-dir` over DATA_DIR. Only `serve` (`create`)
 * or a data directory named explicitly may make a new embedded database: anything else run in the wrong
 * directory would otherwise quietly create and migrate an empty one there and report success.
 */
export function commandConfig(env: Env, options: { dataDir?: string; create: boolean }): Config {
  const named = options.dataDir !== undefined && options.dataDir.trim() !== ''
  const config = loadConfig(named ? { ...env, DATA_DIR: options.dataDir } : env)
  const explicit = named || (env.DATA_DIR ?? '').trim() !== ''
  if (config.databaseUrl === null && !options.create && !explicit && !isDataDir(config.dataDir)) {
    throw new MissingDataDirError(config.dataDir)
  }
  return config
}
