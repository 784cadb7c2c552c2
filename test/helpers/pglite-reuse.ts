import type { PGlite } from '@electric-sql/pglite'
import { openPglite } from '../../src/platform/db/pglite-open.js'

/**
 * The migrated state every test file's PGlite starts from, as this worker's first load of the dump
 * had it: a signature of the schema, the rows migrations wrote, and the sequences' positions.
 */
interface Template {
  fingerprint: string
  /** Tables with rows (the migrations' own bookkeeping): left alone, and compared, on reset. */
  seeded: Map<string, string>
  /** The other tables: emptied on reset. */
  emptied: string[]
  sequences: { name: string; lastValue: string; isCalled: boolean }[]
}

export interface PgliteLease {
  /** The instance for one test file; after `close()` every call on it fails as on a closed PGlite. */
  pglite: PGlite
  /** true when a previous file's instance was reset for this one rather than loaded afresh. */
  reused: boolean
  /** Settles once a closed lease's instance is back in the template state (or closed for good). */
  returned: Promise<void>
}

const SYSTEM_SCHEMAS = `('pg_catalog', 'information_schema', 'pg_toast')`
const OWN_NAMESPACE = `n.nspname not in ${SYSTEM_SCHEMAS} and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast_temp%'`

/** Everything a test could change besides rows: a reset instance must match the template exactly. */
const FINGERPRINT = `
  select md5(string_agg(line, E'\\n' order by line)) as fingerprint from (
    select 'rel ' || n.nspname || '.' || c.relname || ' ' || c.relkind::text || c.relpersistence::text || ' ' || coalesce(array_to_string(c.reloptions, ','), '') as line
      from pg_class c join pg_namespace n on n.oid = c.relnamespace where ${OWN_NAMESPACE}
    union all select 'col ' || c.oid::regclass || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
      from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
      left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where a.attnum > 0 and not a.attisdropped and ${OWN_NAMESPACE}
    union all select 'idx ' || pg_get_indexdef(i.indexrelid) from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace where ${OWN_NAMESPACE}
    union all select 'con ' || co.conrelid::regclass || ' ' || co.conname || ' ' || pg_get_constraintdef(co.oid) from pg_constraint co join pg_namespace n on n.oid = co.connamespace where ${OWN_NAMESPACE}
    union all select 'trg ' || t.tgrelid::regclass || ' ' || t.tgname || ' ' || t.tgenabled::text from pg_trigger t where not t.tgisinternal
    union all select 'fn ' || p.oid::regprocedure || ' ' || md5(coalesce(p.prosrc, '')) from pg_proc p join pg_namespace n on n.oid = p.pronamespace where ${OWN_NAMESPACE}
    union all select 'rule ' || r.ev_class::regclass || ' ' || md5(pg_get_ruledef(r.oid)) from pg_rewrite r join pg_class c on c.oid = r.ev_class join pg_namespace n on n.oid = c.relnamespace where ${OWN_NAMESPACE}
    union all select 'seq ' || s.seqrelid::regclass || ' ' || s.seqstart || ' ' || s.seqincrement || ' ' || s.seqmin || ' ' || s.seqmax || ' ' || s.seqcycle from pg_sequence s
    union all select 'type ' || t.oid::regtype || ' ' || t.typtype::text from pg_type t join pg_namespace n on n.oid = t.typnamespace where ${OWN_NAMESPACE}
    union all select 'enum ' || e.enumtypid::regtype || ' ' || e.enumlabel from pg_enum e
    union all select 'policy ' || p.polrelid::regclass || ' ' || p.polname from pg_policy p
    union all select 'nsp ' || n.nspname from pg_namespace n where n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast_temp%'
    union all select 'ext ' || extname || ' ' || extversion from pg_extension
    union all select 'role ' || rolname || ' ' || rolsuper from pg_roles
    union all select 'db ' || datname from pg_database
    union all select 'setting ' || setdatabase || ' ' || setrole || ' ' || array_to_string(setconfig, ',') from pg_db_role_setting
    union all select 'lo ' || count(*) from pg_largeobject_metadata
  ) lines`

const quoted = (name: string) => name.split('.').map((part) => `"${part.replaceAll('"', '""')}"`).join('.')

async function tableDigest(pglite: PGlite, table: string): Promise<string> {
  const { rows } = await pglite.query<{ digest: string }>(`select md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) as digest from ${quoted(table)} t`)
  return rows[0]!.digest
}

/** Qualified names of the relations of a kind (`pg_class.relkind` values) outside the system schemas. */
async function relationNames(pglite: PGlite, kinds: string[], namePattern = '%'): Promise<string[]> {
  const { rows } = await pglite.query<{ name: string }>(
    `select n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where c.relkind = any($1::"char"[]) and c.relname like $2 and ${OWN_NAMESPACE} order by 1`,
    [kinds, namePattern],
  )
  return rows.map((row) => row.name)
}

async function fingerprint(pglite: PGlite): Promise<string> {
  return (await pglite.query<{ fingerprint: string }>(FINGERPRINT)).rows[0]!.fingerprint
}

async function readTemplate(pglite: PGlite): Promise<Template> {
  const seeded = new Map<string, string>()
  const emptied: string[] = []
  for (const name of await relationNames(pglite, ['r', 'p'])) {
    const { rows } = await pglite.query<{ filled: boolean }>(`select exists (select 1 from ${quoted(name)}) as filled`)
    if (rows[0]!.filled) seeded.set(name, await tableDigest(pglite, name))
    else emptied.push(name)
  }
  const sequences: Template['sequences'] = []
  for (const name of await relationNames(pglite, ['S'])) {
    const { rows } = await pglite.query<{ last_value: string; is_called: boolean }>(`select last_value::text, is_called from ${quoted(name)}`)
    sequences.push({ name, lastValue: rows[0]!.last_value, isCalled: rows[0]!.is_called })
  }
  return { fingerprint: await fingerprint(pglite), seeded, emptied, sequences }
}

/**
 * Brings a file's instance back to the template: ends its session state, drops the HNSW indexes the
 * service builds at start (the template has none), checks that nothing else differs, then empties
 * the tables, rewinds the sequences and zeroes the activity counters. false: it differs in a way a
 * reset does not undo.
 */
async function reset(pglite: PGlite, template: Template): Promise<boolean> {
  if (pglite.closed) return false
  try {
    if (pglite.isInTransaction()) await pglite.exec('rollback')
    await pglite.exec('discard all')
    for (const name of await relationNames(pglite, ['i'], 'embeddings\\_hnsw\\_%')) await pglite.exec(`drop index ${quoted(name)}`)
    if ((await fingerprint(pglite)) !== template.fingerprint) return false
    for (const [table, digest] of template.seeded) if ((await tableDigest(pglite, table)) !== digest) return false
    if (template.emptied.length > 0) await pglite.exec(`truncate ${template.emptied.map(quoted).join(', ')}`)
    for (const sequence of template.sequences) {
      await pglite.query(`select setval($1::regclass, $2::bigint, $3)`, [quoted(sequence.name), sequence.lastValue, sequence.isCalled])
    }
    // A loaded dump counts no activity; a file's rows, deletes and ANALYZEs would otherwise carry over
    // to the next file as dead rows and changes (what the database.vacuum job acts on).
    await pglite.exec('select pg_stat_force_next_flush()')
    await pglite.exec('select pg_stat_reset()')
    return !pglite.isInTransaction()
  } catch {
    return false
  }
}

let template: Template | null = null
let parked: PGlite | null = null

/**
 * A PGlite in the migrated template state for one test file. Loading the run's dump costs ~0.5 s of
 * CPU (PGlite unpacks ~600 files into its in-memory file system and starts Postgres), and a run
 * loaded it about two hundred times; the files of a worker run one after another, so the instance a
 * file closes is reset and handed to the next one instead. A reset that cannot prove the template
 * state closes the instance, and the next file loads the dump again.
 */
export async function leasePglite(load: () => Promise<Blob>): Promise<PgliteLease> {
  let instance = parked
  parked = null
  const reused = instance !== null
  if (!instance) {
    instance = await openPglite({ loadDataDir: await load() })
    template ??= await readTemplate(instance)
  }
  const real = instance
  let returned: Promise<void> | null = null
  let settle: () => void = () => {}
  const settled = new Promise<void>((resolve) => (settle = resolve))
  const giveBack = async () => {
    if (template && (await reset(real, template)) && !parked) parked = real
    else await real.close().catch(() => {})
  }
  const pglite = new Proxy(real, {
    get(target, property) {
      if (property === 'close') return () => (returned ??= giveBack().finally(settle))
      if (property === 'closed' && returned) return true
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => (returned ? Promise.reject(new Error('PGlite is closed')) : (value as (...a: unknown[]) => unknown).apply(target, args))
    },
  })
  return { pglite, reused, returned: settled }
}
