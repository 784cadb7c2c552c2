import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as k8s from 'kubernetes-models'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'

// Deployment files parse and, for Kubernetes, validate against the API's object schemas (offline,
// the schemas of kubernetes-models). There is no cluster here: what they do is described in docs/deploy.md.

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const K8S = join(ROOT, 'deploy/k8s')

interface K8sObject {
  apiVersion: string
  kind: string
  metadata?: { name?: string; labels?: Record<string, string> }
  [field: string]: unknown
}
type Model = new (data: never) => { validate(): void }

/** The model class of an object: kubernetes-models groups them as `apps.v1.Deployment`, core as `v1.Service`. */
function modelOf(object: K8sObject): Model {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion]
  const all = k8s as unknown as Record<string, Record<string, Record<string, Model>> | undefined>
  const versions = group === '' ? (all as unknown as Record<string, Record<string, Model>>) : all[group!.replace(/\.(\w)/g, (_, letter: string) => letter.toUpperCase())]
  const model = versions?.[version!]?.[object.kind]
  if (!model) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`)
  return model
}

function validate(object: K8sObject): string | null {
  try {
    new (modelOf(object))(object as never).validate()
    return null
  } catch (error) {
    return (error as Error).message
  }
}

function parseFile(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((document) => {
    expect(document.errors, path).toEqual([])
    return document.toJS()
  })
}

const files = readdirSync(K8S).filter((file) => file.endsWith('.yaml')).sort()
const manifests = files.filter((file) => file !== 'kustomization.yaml')
const objects = manifests.flatMap((file) => parseFile(join(K8S, file)).map((object) => ({ file, object: object as K8sObject })))
/** The one object of a kind, as the shape a test reads. */
function one<T>(kind: string): T {
  const found = objects.filter(({ object }) => object.kind === kind)
  expect(found, kind).toHaveLength(1)
  return found[0]!.object as unknown as T
}

describe('the validation itself', () => {
  it.each([
    ['a string where an integer belongs', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'two', selector: {}, template: {} } }, /replicas must be integer/],
    ['a probe without its port', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: { containers: [{ name: 'a', livenessProbe: { httpGet: { path: '/live' } } }] } }, /required property port/],
    ['a missing required field', { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'x' }, spec: { minAvailable: [] } }, /minAvailable/],
  ])('refuses %s', (_, object, message) => {
    expect(validate(object as K8sObject)).toMatch(message)
  })

  it('refuses a kind it has no schema for', () => {
    expect(validate({ apiVersion: 'apps/v1', kind: 'Deploymint' })).toMatch(/no schema/)
  })
})

describe('deploy/k8s', () => {
  it.each(objects.map(({ file, object }) => [`${file}: ${object.kind} ${object.metadata?.name}`, object] as const))(
    '%s is a valid object',
    (_, object) => {
      expect(validate(object)).toBeNull()
      expect(object.metadata?.labels?.['app.kubernetes.io/name']).toBe('agentstore')
    },
  )

  it('has every object the deployment needs', () => {
    expect(new Set(objects.map(({ object }) => object.kind))).toEqual(
      new Set(['ConfigMap', 'Secret', 'Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy', 'Job', 'PersistentVolumeClaim']),
    )
  })

  it('kustomization.yaml lists every manifest but the migration Job and the example Secret', () => {
    const [kustomization] = parseFile(join(K8S, 'kustomization.yaml')) as [{ resources: string[] }]
    expect([...kustomization.resources].sort()).toEqual(manifests.filter((file) => !['migrate-job.yaml', 'secret.example.yaml'].includes(file)))
  })

  const deployment = one<{ spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } }>('Deployment')
  interface Container {
    image: string
    args: string[]
    ports?: { name: string; containerPort: number }[]
    envFrom: { configMapRef?: { name: string }; secretRef?: { name: string } }[]
    livenessProbe?: { httpGet: { path: string } }
    readinessProbe?: { httpGet: { path: string } }
    resources?: { requests?: object; limits?: object }
    securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean }
  }
  interface PodSpec {
    securityContext: { runAsNonRoot: boolean; runAsUser: number }
    containers: Container[]
  }

  it('Deployment: probes on /live and /ready, resources, settings from the ConfigMap and the Secret, non-root on a read-only root', () => {
    const [container] = deployment.spec.template.spec.containers as [Container]
    expect(container.livenessProbe?.httpGet.path).toBe('/live')
    expect(container.readinessProbe?.httpGet.path).toBe('/ready')
    expect(container.resources?.requests).toBeDefined()
    expect(container.resources?.limits).toBeDefined()
    expect(container.envFrom).toEqual([{ configMapRef: { name: 'agentstore' } }, { secretRef: { name: 'agentstore' } }])
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false })
    expect(deployment.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true })
    expect(deployment.spec.template.spec.securityContext.runAsUser).toBeGreaterThan(0)
    expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels)
  })

  it('the migration Job runs `migrate up` with the same image, settings and user as the Deployment', () => {
    const job = one<{ spec: { template: { spec: PodSpec & { restartPolicy: string } } } }>('Job')
    const [server] = deployment.spec.template.spec.containers as [Container]
    const [migrate] = job.spec.template.spec.containers as [Container]
    expect(migrate.args).toEqual(['migrate', 'up'])
    expect(migrate.image).toBe(server.image)
    expect(migrate.envFrom).toEqual(server.envFrom)
    expect(job.spec.template.spec.securityContext.runAsUser).toBe(deployment.spec.template.spec.securityContext.runAsUser)
    expect(job.spec.template.spec.restartPolicy).toBe('Never')
  })

  it('Service, HPA and PDB point at the Deployment and its pods', () => {
    const labels = deployment.spec.template.metadata.labels
    const service = one<{ spec: { selector: Record<string, string>; ports: { targetPort: string }[] } }>('Service')
    const pdb = one<{ spec: { selector: { matchLabels: Record<string, string> } } }>('PodDisruptionBudget')
    const hpa = one<{ spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number } }>('HorizontalPodAutoscaler')
    expect(labels).toMatchObject(service.spec.selector)
    expect(labels).toMatchObject(pdb.spec.selector.matchLabels)
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'agentstore' })
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2)
    const [server] = deployment.spec.template.spec.containers as [Container]
    expect(server.ports?.map((port) => port.name)).toContain(service.spec.ports[0]!.targetPort)
  })
})

describe('deploy/compose.yaml', () => {
  const [compose] = parseFile(join(ROOT, 'deploy/compose.yaml')) as [
    { services: Record<string, { image?: string; build?: { context: string; dockerfile: string }; read_only?: boolean; volumes?: string[]; environment?: Record<string, string>; depends_on?: Record<string, unknown> }>; volumes: Record<string, unknown> },
  ]

  it('runs the service built from this repository on PostgreSQL with pgvector and Redis, backups on a volume', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['agentstore', 'postgres', 'redis'])
    const service = compose.services.agentstore!
    expect(service.build).toEqual({ context: '..', dockerfile: 'Dockerfile' })
    expect(readFileSync(join(ROOT, 'deploy', service.build!.context, service.build!.dockerfile), 'utf8')).toMatch(/^FROM /m)
    expect(compose.services.postgres!.image).toMatch(/^pgvector\/pgvector:pg\d+$/)
    expect(compose.services.redis!.image).toMatch(/^redis:/)
    expect(service.read_only).toBe(true)
    expect(service.environment?.DATABASE_URL).toMatch(/^postgres:\/\/.*@postgres:5432\//)
    expect(service.environment?.REDIS_URL).toBe('redis://redis:6379')
    expect(Object.keys(service.depends_on ?? {}).sort()).toEqual(['postgres', 'redis'])
    const backups = service.volumes?.find((volume) => volume.endsWith(`:${service.environment?.BACKUP_DIR}`))
    expect(backups).toBeDefined()
    expect(Object.keys(compose.volumes)).toContain(backups!.split(':')[0])
  })

  it('has no secret in it: passwords come from the environment', () => {
    const text = readFileSync(join(ROOT, 'deploy/compose.yaml'), 'utf8')
    expect(compose.services.postgres!.environment?.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/)
    expect(text).not.toMatch(/PASSWORD: [^$]/)
  })
})

describe('reverse proxies', () => {
  it('nginx: TLS, SSE buffering off', () => {
    const text = readFileSync(join(ROOT, 'deploy/proxy/nginx.conf'), 'utf8')
    expect(text).toMatch(/listen 443 ssl;/)
    expect(text).toMatch(/ssl_certificate /)
    expect(text).toMatch(/proxy_buffering off;/)
    expect(text).toMatch(/proxy_read_timeout \d+h;/)
  })

  it('Caddy: a site name (automatic TLS), every response flushed at once', () => {
    const text = readFileSync(join(ROOT, 'deploy/proxy/Caddyfile'), 'utf8')
    expect(text).toMatch(/^[a-z0-9.-]+\.[a-z]+ \{$/m)
    expect(text).toMatch(/flush_interval -1/)
  })

  it('systemd: runs `serve` as its own user with a read-only system', () => {
    const text = readFileSync(join(ROOT, 'deploy/systemd/agentstore.service'), 'utf8')
    expect(text).toMatch(/^ExecStart=\/usr\/bin\/node \S+\/bin\/agentstore\.js serve$/m)
    expect(text).toMatch(/^User=agentstore$/m)
    expect(text).toMatch(/^ProtectSystem=strict$/m)
  })
})
