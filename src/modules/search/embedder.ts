import { Counter, type Registry } from 'prom-client'
import type { EmbeddingsProvider } from '../../platform/embeddings/embeddings.provider.js'
import type { SearchSource, VectorStore } from './vector-store.js'

/**
 * The embeddings provider and the vector store of this process, with the counters `/metrics` shows:
 * texts embedded and failed attempts by source, and items given up on.
 */
export class Embedder {
  private readonly embedded: Counter<'source'>
  private readonly failures: Counter<'source' | 'final'>

  constructor(
    readonly provider: EmbeddingsProvider,
    readonly store: VectorStore,
    registry: Registry,
  ) {
    this.embedded = new Counter({
      name: 'agentstore_embeddings_total',
      help: 'Texts embedded, by source (memories, objects, messages, queries).',
      labelNames: ['source'],
      registers: [registry],
    })
    this.failures = new Counter({
      name: 'agentstore_embedding_failures_total',
      help: 'Items whose embedding failed, by source; final="true" when the retries ran out and the item was marked failed.',
      labelNames: ['source', 'final'],
      registers: [registry],
    })
  }

  /** True when embedding runs in this process (a request may wait for it); false for a remote provider. */
  get inline(): boolean {
    return this.provider.local
  }

  get model(): string {
    return this.provider.model
  }

  /** `background`: no request waits for these (jobs); a local provider serves requests' texts first. */
  async embed(texts: string[], source: SearchSource | 'queries', signal?: AbortSignal, background = false): Promise<number[][]> {
    const vectors = await this.provider.embed(texts, signal, { background })
    this.embedded.inc({ source }, texts.length)
    return vectors
  }

  countFailures(source: SearchSource, count: number, final: boolean): void {
    if (count > 0) this.failures.inc({ source, final: String(final) }, count)
  }
}
