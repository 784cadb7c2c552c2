import { Counter, type Registry } from 'prom-client'

/** /metrics: runs by the status they ended (or paused) in, and LLM tokens by direction. */
export class ExtractionMetrics {
  private readonly runs: Counter<'status'>
  private readonly tokens: Counter<'direction'>

  constructor(registry: Registry) {
    this.runs = new Counter({ name: 'extraction_runs_total', help: 'Memory extraction runs by outcome: done, failed, waiting_budget.', labelNames: ['status'], registers: [registry] })
    this.tokens = new Counter({ name: 'extraction_llm_tokens_total', help: 'LLM tokens spent by memory extraction: in (prompt) and out (output).', labelNames: ['direction'], registers: [registry] })
  }

  run(status: 'done' | 'failed' | 'waiting_budget'): void {
    this.runs.inc({ status })
  }

  spent(input: number, output: number): void {
    if (input > 0) this.tokens.inc({ direction: 'in' }, input)
    if (output > 0) this.tokens.inc({ direction: 'out' }, output)
  }
}
