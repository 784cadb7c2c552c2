import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DEFAULT_MODELS } from '../src/platform/llm/llm.js'
import { jobListOn } from './helpers/test-app.js'

// The README and docs/ stand alone and can be followed as written.

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((file) => file.endsWith('.md')).map((file) => `docs/${file}`)]
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8')

describe.each(DOCS)('%s', (file) => {
  const text = read(file)

  it('links only to files of this repository that exist (or to the web)', () => {
    const broken = [...text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)]
      .map((match) => match[1]!)
      .filter((target) => !/^https?:\/\//.test(target))
      .filter((target) => {
        const path = resolve(dirname(join(ROOT, file)), target)
        return relative(ROOT, path).startsWith('..') || !existsSync(path)
      })
    expect(broken).toEqual([])
    expect(text).not.toMatch(/\.\.\/shared/)
  })

  it('has shell examples that run as written: no <placeholder> to fill in, no npx agentstore', () => {
    const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!)
    const commands = blocks.flatMap((block) => block.split('\n')).map((line) => line.replace(/(^|\s)#.*$/, ''))
    expect(commands.filter((line) => /<[A-Za-z][^>]*>/.test(line))).toEqual([])
    expect(commands.filter((line) => /\bnpx agentstore\b/.test(line))).toEqual([])
  })
})

describe('docs/operations.md', () => {
  it('lists every background job with its schedule', () => {
    // PGlite's list: PostgreSQL's lacks only database.vacuum.
    const jobs = jobListOn('pglite')
    const rows = read('docs/operations.md')
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .map((line) => line.split('|').map((cell) => cell.trim()))
    for (const job of jobs) {
      const row = rows.find((cells) => cells[1] === `\`${job.name}\``)
      expect(row, job.name).toBeDefined()
      if (job.schedule) expect(row![2], job.name).toContain(`\`${job.schedule}\``)
      else expect(row![2], job.name).toMatch(/^on demand/)
    }
    expect(jobs.length).toBeGreaterThanOrEqual(4)
  })
})

describe('docs/chat.md', () => {
  it.each(Object.entries(DEFAULT_MODELS))('names the default model of %s, %s', (provider, model) => {
    const row = read('docs/chat.md').split('\n').find((line) => line.startsWith(`| \`${provider}\``))
    expect(row).toContain(`\`${model}\``)
  })
})
