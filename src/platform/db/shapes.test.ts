import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { compileOnly } from '../../../test/helpers/compile-only.js'
import { compiledPerShape, MAX_SHAPES } from './shapes.js'

interface Things {
  things: { id: string; owner: string; kind: string; size: number; made_at: Date }
}

const db = compileOnly<Things>()

type Shape = { order: 'asc' | 'desc'; limit: number }
type Values = { owner: string; kind: string | null; after: Date | null; size: number | null }

/** Things of an owner, optionally of a kind, after a time and of a size: a query whose text depends on which values it has. */
function build(shape: Shape, values: Values) {
  let query = db.selectFrom('things').select(['id', 'made_at']).where('owner', '=', values.owner)
  if (values.kind !== null) query = query.where('kind', '=', values.kind)
  if (values.after !== null) query = query.where('made_at', '>', values.after)
  // One value in two places: both are its parameters.
  if (values.size !== null) query = query.where(sql<boolean>`size between ${values.size} and ${values.size} * 2`)
  return query.orderBy('made_at', shape.order).limit(sql.lit(shape.limit))
}

const cases: [string, Shape, Values][] = [
  ['no optional value', { order: 'desc', limit: 10 }, { owner: 'ann', kind: null, after: null, size: null }],
  ['every value', { order: 'asc', limit: 51 }, { owner: 'bob', kind: 'box', after: new Date('2026-12-01T00:00:00Z'), size: 3 }],
  ['a value that looks like another one', { order: 'desc', limit: 10 }, { owner: 'kind', kind: 'owner', after: null, size: 0 }],
]

describe('compiledPerShape', () => {
  it.each(cases)('compiles as Kysely does on each call (%s), with the values in their places', (_, shape, values) => {
    const compiled = compiledPerShape(build)
    compiled(shape, { owner: 'someone else', kind: values.kind && 'other', after: values.after && new Date(0), size: values.size && 99 })
    const { sql: text, parameters } = compiled(shape, values)
    const direct = build(shape, values).compile()
    expect(text).toBe(direct.sql)
    expect(parameters).toEqual(direct.parameters)
  })

  it('builds once per shape: per order, page size and set of values present', () => {
    let builds = 0
    const compiled = compiledPerShape((shape: Shape, values: Values) => (builds++, build(shape, values)))
    const values = { owner: 'ann', kind: null, after: null, size: null }
    for (let run = 0; run < 5; run++) compiled({ order: 'desc', limit: 10 }, { ...values, owner: `owner ${run}` })
    expect(builds).toBe(1)
    compiled({ order: 'asc', limit: 10 }, values)
    compiled({ order: 'desc', limit: 11 }, values)
    compiled({ order: 'desc', limit: 10 }, { ...values, kind: 'box' })
    compiled({ order: 'desc', limit: 10 }, { ...values, kind: 'bag' })
    expect(builds).toBe(4)
  })

  it('past its limit of shapes still answers every call, building each', () => {
    let builds = 0
    const compiled = compiledPerShape((shape: Shape, values: Values) => (builds++, build(shape, values)))
    const values = { owner: 'ann', kind: 'box', after: null, size: null }
    for (let limit = 1; limit <= MAX_SHAPES + 3; limit++) compiled({ order: 'desc', limit }, values)
    const past = compiled({ order: 'asc', limit: MAX_SHAPES + 10 }, values)
    expect(past.sql).toBe(build({ order: 'asc', limit: MAX_SHAPES + 10 }, values).compile().sql)
    expect(past.parameters).toEqual(['ann', 'box'])
    compiled({ order: 'desc', limit: 1 }, values)
    expect(builds).toBe(MAX_SHAPES + 4)
  })

  it('refuses a build that changes a value before sending it, which would freeze it at its first call', () => {
    const compiled = compiledPerShape((shape: Shape, values: Values) => build(shape, { ...values, owner: values.owner.toUpperCase() }))
    expect(() => compiled({ order: 'desc', limit: 10 }, { owner: 'Ann', kind: null, after: null, size: null })).toThrow(/not one of the values as given/)
  })

  it('refuses a build that writes a value into the text', () => {
    const compiled = compiledPerShape((_: Shape, values: Values) => db.selectFrom('things').select('id').where('owner', '=', sql.lit(values.owner)))
    expect(() => compiled({ order: 'desc', limit: 10 }, { owner: 'ann', kind: null, after: null, size: null })).toThrow(/written into the text/)
  })
})
