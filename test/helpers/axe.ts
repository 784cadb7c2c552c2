import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import type { Page } from 'playwright-core'

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js')
let axeSource: string | undefined

export interface AxeViolation {
  id: string
  impact: string | null
  help: string
  nodes: { target: unknown[] }[]
}

/**
 * The serious and critical accessibility violations axe-core finds on the page as it is now. axe runs
 * in the page through the browser's debugging protocol, so the page's own CSP stays as it is.
 */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // Once per document: compiling axe's 0.5 MB again for every check cost the browser ~0.1 CPU-s each.
  if (!(await page.evaluate<boolean>(`typeof axe !== 'undefined'`))) await page.evaluate((axeSource ??= await readFile(axePath, 'utf8')))
  // A string: the test code has no DOM types, the page does.
  const violations = await page.evaluate<AxeViolation[]>(`axe.run(document, { resultTypes: ['violations'] }).then((result) =>
    result.violations.map(({ id, impact, help, nodes }) => ({ id, impact, help, nodes: nodes.map((node) => ({ target: node.target })) })))`)
  return violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
}
