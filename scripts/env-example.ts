// Writes .env.example from SETTINGS in src/config.settings.ts, so that the two never drift (`npm run env:example`).
import { writeFileSync } from 'node:fs'
import { SETTINGS } from '../src/config.settings.js'

const header = [
  '# Agentstore settings. Every variable is optional; the value shown is the default.',
  '# Set them in the environment, or copy this file to .env in the directory you start agentstore from (the environment wins).',
  '# A bad value stops the start with a message naming the variable.',
  '',
]
const lines = Object.entries(SETTINGS).flatMap(([name, setting]) => [`# ${setting.help}`, `${name}=${setting.default}`, ''])
writeFileSync(new URL('../.env.example', import.meta.url), `${[...header, ...lines].join('\n').trimEnd()}\n`)
