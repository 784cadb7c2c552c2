import { Readable } from 'node:stream'
import type { FastifyContextConfig, FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ERR } from '../../platform/errors.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { ownerOf } from '../gpts/gpts.routes.js'
import { GptParams } from '../gpts/gpts.schemas.js'
import { NDJSON, RECORD_TYPES } from './archive.format.js'
import type { ArchiveService } from './archive.service.js'

interface Deps {
  archive: ArchiveService
  maxBytes: number
}

const ImportResult = Type.Object(
  {
    gpt_id: Type.String(),
    records: Type.Integer({ description: 'Records written (all of the archive).' }),
    counts: Type.Object(Object.fromEntries(RECORD_TYPES.map((type) => [type, Type.Integer()]))),
    memories_to_embed: Type.Integer({ description: 'Memories without a vector of this instance\'s model: the embedding job makes them (embedding_status pending until then).' }),
  },
  { $id: 'ArchiveImportResult' },
)

/**
 * GET …/gpts/{gpt_id}/export and POST …/gpts/{gpt_id}/import: for the operator under /v1/admin (any
 * GPT); under /v1 for one of the GPT's keys with the admin scope, or the account that owns it.
 */
export function archiveRoutes({ archive, maxBytes }: Deps, caller: 'operator' | 'tenant') {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const operator = caller === 'operator'
    const base = operator ? '/v1/admin' : '/v1'
    const config: FastifyContextConfig = operator ? { access: 'admin' } : { access: 'key', scope: 'admin', accounts: true }
    const common = { tags: [operator ? 'admin' : 'gpts'], security: BEARER_SECURITY }
    const denied = operator ? [401] : [401, 403]
    // The upload stays a stream (the service spools it): never a body in memory, nor in the audit row.
    const uploads = new WeakMap<FastifyRequest, Readable>()
    app.addContentTypeParser([NDJSON, 'application/jsonl'], { bodyLimit: maxBytes }, (request, payload, done) => {
      uploads.set(request, payload as Readable)
      done(null, undefined)
    })

    app.get(
      `${base}/gpts/:gpt_id/export`,
      {
        config,
        schema: {
          ...common,
          operationId: operator ? 'adminExportGpt' : 'exportGpt',
          summary: 'Everything of this GPT as one archive (NDJSON, streamed; never keys or secrets)',
          description: 'The format is described in docs/archive.md. `vectors=false` leaves the memories\' vectors out (they are made again on import).',
          params: GptParams,
          querystring: Type.Object({ vectors: Type.Optional(Type.Boolean({ default: true })) }, { additionalProperties: false }),
          produces: [NDJSON],
          response: { 200: Type.String({ description: 'A header line, one line per record, a trailer line.' }), ...problemResponses(...denied, 404, 422) },
        },
      },
      async (request, reply) => {
        const { gpt_id } = request.params
        const lines = await archive.exportArchive(gpt_id, { vectors: request.query.vectors !== false }, ownerOf(request))
        reply.type(NDJSON).header('content-disposition', `attachment; filename="${gpt_id}.agentstore.ndjson"`)
        return reply.send(Readable.from(lines) as unknown as string)
      },
    )

    app.post(
      `${base}/gpts/:gpt_id/import`,
      {
        config,
        bodyLimit: maxBytes,
        schema: {
          ...common,
          operationId: operator ? 'adminImportGpt' : 'importGpt',
          summary: 'Import an archive into this GPT, which must hold no data yet: all or nothing',
          description:
            'Content-Type application/x-ndjson. Every line is checked before anything is written; a refusal is a 422 whose `errors` name each refused line (`line`, `record`, `pointer`, `message`). Every id is given a new one.',
          params: GptParams,
          consumes: [NDJSON],
          response: { 201: ImportResult, ...problemResponses(...denied, 404, 409, 413, 415, 422) },
        },
      },
      async (request, reply) => {
        const upload = uploads.get(request)
        if (!upload) throw ERR.unsupportedMediaType(`Send the archive as ${NDJSON}, as GET …/export makes it.`)
        const declared = Number(request.headers['content-length'])
        if (Number.isFinite(declared) && declared > maxBytes) {
          throw ERR.payloadTooLarge(`The archive is larger than ${maxBytes} bytes (ARCHIVE_IMPORT_MAX_BYTES).`)
        }
        const result = await archive.importStream(request.params.gpt_id, upload, maxBytes, ownerOf(request))
        return reply.code(201).send(result)
      },
    )
  }
}
