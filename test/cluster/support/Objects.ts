/** Kubernetes objects as plain data, and the few accessors the checks share. */
import { parseAllDocuments } from "yaml"

export interface K8sObject {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: {
    readonly name: string
    readonly namespace?: string
    readonly labels?: Record<string, string>
    readonly annotations?: Record<string, string>
  }
  // biome-ignore lint/suspicious/noExplicitAny: manifests are untyped data; each check narrows what it reads
  readonly [field: string]: any
}

/** One finding: the rule it breaks, the object it is about, and what is wrong. */
export interface Issue {
  readonly rule: string
  readonly object: string
  readonly message: string
}

export const idOf = (o: K8sObject): string =>
  `${o.kind}/${o.metadata?.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata?.name}`

export const parseYamlStream = (text: string, source: string): Array<K8sObject> =>
  parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0]?.message}`)
    const value = doc.toJS()
    return value === null || value === undefined ? [] : [value as K8sObject]
  })

export const workloadKinds = new Set(["Deployment", "StatefulSet", "DaemonSet"])

export const isWorkload = (o: K8sObject): boolean => workloadKinds.has(o.kind)

// biome-ignore lint/suspicious/noExplicitAny: see K8sObject
export type PodTemplate = { metadata?: { labels?: Record<string, string> }; spec: any }

export const podTemplateOf = (o: K8sObject): PodTemplate | undefined =>
  isWorkload(o) ? (o.spec?.template as PodTemplate | undefined) : undefined

// biome-ignore lint/suspicious/noExplicitAny: see K8sObject
export type Container = any

export interface ContainerRef {
  readonly container: Container
  readonly init: boolean
  readonly where: string
}

export const containersOf = (o: K8sObject): Array<ContainerRef> => {
  const spec = podTemplateOf(o)?.spec
  if (!spec) return []
  const init = ((spec.initContainers ?? []) as Array<Container>).map((c) => ({
    container: c,
    init: true,
    where: `${idOf(o)} initContainer ${c.name}`
  }))
  const main = ((spec.containers ?? []) as Array<Container>).map((c) => ({
    container: c,
    init: false,
    where: `${idOf(o)} container ${c.name}`
  }))
  return [...init, ...main]
}

export const matchesLabels = (
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined
): boolean =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels?.[k] === v)

export const find = (objects: ReadonlyArray<K8sObject>, kind: string, name: string, namespace?: string) =>
  objects.find(
    (o) =>
      o.kind === kind && o.metadata?.name === name && (namespace === undefined || o.metadata?.namespace === namespace)
  )
