/**
 * Cross-checks: every name one object uses refers to something that exists,
 * in what the Tiltfile applies (Traefik, the dev Secrets, manifests/dev), and
 * the manifests agree with what the services read and serve.
 */
import { configKeys, defaultPorts, secretKeys } from "../../../packages/platform/src/ConfigKeys.ts"
import { healthPaths } from "../../../packages/platform/src/HealthPaths.ts"
import type { ClusterModel } from "./ClusterModel.ts"
import {
  type Container,
  containersOf,
  find,
  type Issue,
  idOf,
  isWorkload,
  type K8sObject,
  matchesLabels,
  podTemplateOf
} from "./Objects.ts"
import { observabilityChecks } from "./ObservabilityChecks.ts"
import {
  appNamespace,
  builtImages,
  envValue,
  imageRepo,
  managementPortName,
  managementPortOf,
  resolvePort
} from "./PolicyRules.ts"
import { ownNamespaces } from "./RuleKit.ts"

type Check = (model: ClusterModel) => Array<Issue>

const issue = (rule: string, object: string, message: string): Issue => ({ rule, object, message })
const ns = (o: K8sObject) => o.metadata?.namespace
const podsSelectedBy = (
  objects: ReadonlyArray<K8sObject>,
  namespace: string | undefined,
  selector: Record<string, string> | undefined
) =>
  objects.filter(
    (w) => podTemplateOf(w) && ns(w) === namespace && matchesLabels(selector, podTemplateOf(w)?.metadata?.labels)
  )

/**
 * The flows the architecture needs, as "from -> to:port". Pods in `voting` are
 * named bare, pods elsewhere `namespace/name`; "*" is every pod of a namespace.
 */
export const appFlows = [
  "traefik/traefik -> vote:8080",
  "traefik/traefik -> result:8081",
  "vote -> redis:6379",
  "worker -> redis:6379",
  "worker -> postgres:5432",
  "result -> postgres:5432",
  "* -> kube-system/kube-dns:53"
].sort()

/**
 * What `tilt up -- --observability` adds: the services send spans to Jaeger and
 * nothing else new; Prometheus scrapes their management ports and nothing else;
 * Grafana queries Prometheus. The UIs are reached through port forwards, no flow.
 */
export const observabilityFlows = [
  "vote -> observability/jaeger:4318",
  "result -> observability/jaeger:4318",
  "worker -> observability/jaeger:4318",
  "observability/prometheus -> vote:9080",
  "observability/prometheus -> result:9081",
  "observability/prometheus -> worker:9082",
  "observability/grafana -> observability/prometheus:9090",
  "observability/* -> kube-system/kube-dns:53"
].sort()

export const expectedFlows = (model: Pick<ClusterModel, "observability">): Array<string> =>
  [...appFlows, ...(model.observability ? observabilityFlows : [])].sort()

const ownNamespaceSet = new Set<string>(ownNamespaces)
const podName = (namespace: string, name: string) => (namespace === appNamespace ? name : `${namespace}/${name}`)

/**
 * The flows the NetworkPolicies allow. Between two namespaces these manifests
 * own, a flow needs the sender's egress and the receiver's ingress; a peer
 * elsewhere (Traefik, DNS) is judged by our side alone.
 */
export const allowedFlows = (objects: ReadonlyArray<K8sObject>): Array<string> => {
  const policies = objects.filter((o) => o.kind === "NetworkPolicy" && ownNamespaceSet.has(ns(o) ?? ""))
  const apps = new Map<string, Array<string>>()
  for (const w of objects.filter((o) => podTemplateOf(o) && ownNamespaceSet.has(ns(o) ?? "")))
    apps.set(ns(w) as string, [...(apps.get(ns(w) as string) ?? []), w.metadata.name])
  const selects = (p: K8sObject, app: string) => {
    const sel = p.spec?.podSelector?.matchLabels ?? {}
    return Object.keys(sel).length === 0 || sel["app.kubernetes.io/name"] === app
  }
  type Peer = {
    namespaceSelector?: { matchLabels?: Record<string, string> }
    podSelector?: { matchLabels?: Record<string, string> }
  }
  /** A peer's namespace (the policy's own when it names none; "*" for a selector on other labels) and pod name. */
  const peerOf = (peer: Peer, policyNs: string): { namespace: string; name: string } => {
    const labels = peer.podSelector?.matchLabels ?? {}
    const name = labels["app.kubernetes.io/name"] ?? labels["k8s-app"] ?? "*"
    if (!peer.namespaceSelector) return { namespace: policyNs, name }
    return { namespace: peer.namespaceSelector.matchLabels?.["kubernetes.io/metadata.name"] ?? "*", name }
  }
  const ports = (rule: { ports?: Array<{ port: number | string }> }) => (rule.ports ?? []).map((p) => String(p.port))
  const egress = new Map<string, boolean>()
  const ingress = new Map<string, boolean>()
  for (const p of policies) {
    const namespace = ns(p) as string
    for (const app of (apps.get(namespace) ?? []).filter((a) => selects(p, a))) {
      for (const rule of p.spec?.egress ?? [])
        for (const peer of rule.to ?? []) {
          const to = peerOf(peer, namespace)
          for (const port of ports(rule))
            egress.set(
              `${podName(namespace, app)} -> ${podName(to.namespace, to.name)}:${port}`,
              ownNamespaceSet.has(to.namespace)
            )
        }
      for (const rule of p.spec?.ingress ?? [])
        for (const peer of rule.from ?? []) {
          const from = peerOf(peer, namespace)
          for (const port of ports(rule))
            ingress.set(
              `${podName(from.namespace, from.name)} -> ${podName(namespace, app)}:${port}`,
              ownNamespaceSet.has(from.namespace)
            )
        }
    }
  }
  const flows = new Set<string>()
  for (const [flow, toOwn] of egress) if (!toOwn || ingress.has(flow)) flows.add(flow)
  for (const [flow, fromOwn] of ingress) if (!fromOwn) flows.add(flow)
  // Every pod of a namespace with the same DNS egress collapses to "*".
  for (const [namespace, names] of apps) {
    const dns = names.map((a) => `${podName(namespace, a)} -> kube-system/kube-dns:53`)
    if (dns.every((f) => flows.has(f))) {
      for (const f of dns) flows.delete(f)
      flows.add(`${podName(namespace, "*")} -> kube-system/kube-dns:53`)
    }
  }
  return [...flows].sort()
}

export const crossChecks: Record<string, Check> = {
  "xref/selector": (model) =>
    model.applied.flatMap((o) => {
      if (isWorkload(o)) {
        return matchesLabels(o.spec?.selector?.matchLabels, podTemplateOf(o)?.metadata?.labels)
          ? []
          : [issue("xref/selector", idOf(o), "spec.selector does not match the pod template's labels")]
      }
      if (o.kind === "Service" && o.spec?.selector) {
        return podsSelectedBy(model.applied, ns(o), o.spec.selector).length > 0
          ? []
          : [issue("xref/selector", idOf(o), `selector ${JSON.stringify(o.spec.selector)} matches no pods`)]
      }
      return []
    }),

  "xref/service-port": (model) =>
    model.applied
      .filter((o) => o.kind === "Service" && o.spec?.selector)
      .flatMap((svc) => {
        const containers = podsSelectedBy(model.applied, ns(svc), svc.spec.selector).flatMap((w) =>
          containersOf(w).filter((c) => !c.init)
        )
        const ports = containers.flatMap(
          ({ container }) => (container.ports ?? []) as Array<{ name?: string; containerPort: number }>
        )
        return (svc.spec.ports ?? []).flatMap((p: { port: number; targetPort?: number | string }) => {
          const target = p.targetPort ?? p.port
          const found = ports.some((cp) =>
            typeof target === "string" ? cp.name === target : cp.containerPort === target
          )
          return found
            ? []
            : [issue("xref/service-port", idOf(svc), `targetPort ${target} is not a port of the selected containers`)]
        })
      }),

  "xref/references": (model) =>
    model.applied.flatMap((w) => {
      const spec = podTemplateOf(w)?.spec
      if (!spec) return []
      const namespace = ns(w)
      const problems: Array<Issue> = []
      const claimNames = new Set((w.spec?.volumeClaimTemplates ?? []).map((t: K8sObject) => t.metadata?.name))
      const volumeNames = new Set((spec.volumes ?? []).map((v: { name: string }) => v.name))
      const account = spec.serviceAccountName ?? "default"
      if (account !== "default" && !find(model.applied, "ServiceAccount", account, namespace))
        problems.push(issue("xref/service-account", idOf(w), `ServiceAccount ${account} does not exist`))
      for (const v of spec.volumes ?? []) {
        if (v.configMap) {
          const cm = find(model.applied, "ConfigMap", v.configMap.name, namespace)
          if (!cm) problems.push(issue("xref/configmap", idOf(w), `ConfigMap ${v.configMap.name} does not exist`))
          for (const item of v.configMap.items ?? [])
            if (cm && !(item.key in (cm.data ?? {})))
              problems.push(issue("xref/configmap", idOf(w), `ConfigMap ${v.configMap.name} has no key ${item.key}`))
        }
        if (v.secret) {
          const secret = find(model.applied, "Secret", v.secret.secretName, namespace)
          const keys = { ...(secret?.data ?? {}), ...(secret?.stringData ?? {}) }
          if (!secret)
            problems.push(
              issue(
                "xref/secret",
                idOf(w),
                `Secret ${v.secret.secretName} is neither in the manifests nor made by the Tiltfile`
              )
            )
          for (const item of v.secret.items ?? [])
            if (secret && !(item.key in keys))
              problems.push(issue("xref/secret", idOf(w), `Secret ${v.secret.secretName} has no key ${item.key}`))
        }
        if (
          v.persistentVolumeClaim &&
          !find(model.applied, "PersistentVolumeClaim", v.persistentVolumeClaim.claimName, namespace)
        )
          problems.push(
            issue("xref/pvc", idOf(w), `PersistentVolumeClaim ${v.persistentVolumeClaim.claimName} does not exist`)
          )
      }
      for (const { container, where } of containersOf(w)) {
        for (const m of container.volumeMounts ?? [])
          if (!volumeNames.has(m.name) && !claimNames.has(m.name))
            problems.push(
              issue("xref/pvc", where, `mounts ${m.name}, which is neither a volume nor a volume claim template`)
            )
        for (const e of container.env ?? []) {
          const ref = e.valueFrom?.configMapKeyRef
          if (ref && !(ref.key in (find(model.applied, "ConfigMap", ref.name, namespace)?.data ?? {})))
            problems.push(issue("xref/configmap", where, `env ${e.name}: ConfigMap ${ref.name} has no key ${ref.key}`))
        }
      }
      return problems
    }),

  "xref/ingress-backend": (model) =>
    model.applied
      .filter((o) => o.kind === "Ingress")
      .flatMap((ing) => {
        const problems: Array<Issue> = []
        if (ing.spec?.ingressClassName && !find(model.applied, "IngressClass", ing.spec.ingressClassName))
          problems.push(
            issue("xref/ingress-backend", idOf(ing), `IngressClass ${ing.spec.ingressClassName} does not exist`)
          )
        for (const tls of ing.spec?.tls ?? [])
          if (!find(model.applied, "Secret", tls.secretName, ns(ing)))
            problems.push(
              issue("xref/ingress-backend", idOf(ing), `TLS Secret ${tls.secretName} is not made by the Tiltfile`)
            )
        for (const rule of ing.spec?.rules ?? [])
          for (const path of rule.http?.paths ?? []) {
            const backend = path.backend?.service
            const svc = find(model.applied, "Service", backend?.name, ns(ing))
            const port = backend?.port?.name ?? backend?.port?.number
            if (!svc)
              problems.push(
                issue("xref/ingress-backend", idOf(ing), `${rule.host}: Service ${backend?.name} does not exist`)
              )
            else if (
              !(svc.spec?.ports ?? []).some((p: { name?: string; port: number }) => p.name === port || p.port === port)
            )
              problems.push(
                issue("xref/ingress-backend", idOf(ing), `${rule.host}: Service ${backend?.name} has no port ${port}`)
              )
          }
        return problems
      }),

  "xref/pdb-target": (model) =>
    model.applied
      .filter((o) => o.kind === "PodDisruptionBudget")
      .flatMap((pdb) =>
        podsSelectedBy(model.applied, ns(pdb), pdb.spec?.selector?.matchLabels).length > 0
          ? []
          : [issue("xref/pdb-target", idOf(pdb), "its selector matches no workload's pods")]
      ),

  "xref/hpa-target": (model) =>
    model.applied
      .filter((o) => o.kind === "HorizontalPodAutoscaler")
      .flatMap((hpa) => {
        const ref = hpa.spec?.scaleTargetRef ?? {}
        return find(model.applied, ref.kind, ref.name, ns(hpa))
          ? []
          : [issue("xref/hpa-target", idOf(hpa), `scale target ${ref.kind}/${ref.name} does not exist`)]
      }),

  "xref/statefulset-service": (model) =>
    model.applied
      .filter((o) => o.kind === "StatefulSet")
      .flatMap((sts) => {
        const svc = find(model.applied, "Service", sts.spec?.serviceName, ns(sts))
        return svc?.spec?.clusterIP === "None"
          ? []
          : [
              issue(
                "xref/statefulset-service",
                idOf(sts),
                `serviceName ${sts.spec?.serviceName} must be a headless Service`
              )
            ]
      }),

  /** The ports agree with what each component listens on: PORT (its default), and MANAGEMENT_PORT if set. */
  "xref/app-ports": (model) => {
    const built = builtImages(model)
    return model.applied.flatMap((w) =>
      containersOf(w)
        .filter(({ container, init }) => !init && built.has(imageRepo(container.image)))
        .flatMap(({ container, where }) => {
          const service = w.metadata.name as keyof typeof defaultPorts
          const expected = defaultPorts[service]
          if (expected === undefined)
            return [issue("xref/app-ports", where, `${service} is not a component the services know`)]
          const problems: Array<string> = []
          const port = envValue(container, "PORT")
          const management = managementPortOf(container)
          if (port !== undefined && Number(port) !== expected)
            problems.push(`PORT ${port} differs from ${service}'s port ${expected}`)
          const listens = port === undefined ? expected : Number(port)
          const http = resolvePort(container, "http")
          if (http !== undefined && http !== listens)
            problems.push(`containerPort http is ${http}, but ${service} listens on ${listens}`)
          if (management !== undefined && management === listens)
            problems.push(`MANAGEMENT_PORT ${management} must differ from PORT`)
          const declared = resolvePort(container, managementPortName)
          if (declared !== undefined && declared !== management)
            problems.push(
              `containerPort ${managementPortName} is ${declared}, but MANAGEMENT_PORT is ${management ?? "unset"}`
            )
          return problems.map((p) => issue("xref/app-ports", where, p))
        })
    )
  },

  "xref/probe-path": (model) => {
    const built = builtImages(model)
    const live = new Set<string>([healthPaths.live])
    return model.applied.flatMap((w) =>
      containersOf(w)
        .filter(({ container, init }) => !init && built.has(imageRepo(container.image)))
        .flatMap(({ container, where }) => {
          const service = w.metadata.name as keyof typeof defaultPorts
          const port = envValue(container, "PORT")
          // Where health is served: MANAGEMENT_PORT when set, else PORT (or the component's default).
          const served = managementPortOf(container) ?? (port === undefined ? defaultPorts[service] : Number(port))
          const problems: Array<Issue> = []
          const probes: Array<[string, ReadonlySet<string>]> = [
            ["startupProbe", live],
            ["livenessProbe", live],
            ["readinessProbe", new Set([healthPaths.ready])]
          ]
          for (const [name, paths] of probes) {
            const get = container[name]?.httpGet
            if (!get) {
              problems.push(
                issue("xref/probe-path", where, `${name} must be an HTTP GET on the service's health endpoints`)
              )
              continue
            }
            if (!paths.has(get.path))
              problems.push(
                issue(
                  "xref/probe-path",
                  where,
                  `${name} path ${get.path} is not served (expected ${[...paths].join(" or ")})`
                )
              )
            const target = resolvePort(container, get.port)
            const declared = (container.ports ?? []).some(
              (p: { name?: string; containerPort: number }) => p.name === get.port || p.containerPort === get.port
            )
            if (!declared)
              problems.push(issue("xref/probe-path", where, `${name} port ${get.port} is not a container port`))
            else if (target !== served)
              problems.push(
                issue("xref/probe-path", where, `${name} probes port ${target}, health is served on ${served}`)
              )
          }
          return problems
        })
    )
  },

  "xref/images-built": (model) => {
    const built = builtImages(model)
    const used = new Set<string>()
    const problems: Array<Issue> = []
    for (const w of model.applied) {
      for (const { container, where } of containersOf(w)) {
        const repo = imageRepo(String(container.image))
        if (built.has(repo)) used.add(repo)
        else if (repo.startsWith("voting/"))
          problems.push(issue("xref/images-built", where, `image ${container.image} is not built by any docker_build`))
      }
    }
    for (const ref of built)
      if (!used.has(ref))
        problems.push(issue("xref/images-built", `docker_build ${ref}`, "builds an image no manifest uses"))
    return problems
  },

  "xref/config-keys": (model) => {
    const known = new Set<string>(configKeys)
    const secret = new Set<string>(secretKeys)
    const problems: Array<Issue> = []
    for (const cm of model.applied.filter((o) => o.kind === "ConfigMap" && ns(o) === appNamespace)) {
      for (const key of Object.keys(cm.data ?? {})) {
        if (secret.has(key))
          problems.push(issue("xref/config-keys", idOf(cm), `${key} is a secret and belongs in the Secret`))
        else if (!known.has(key))
          problems.push(issue("xref/config-keys", idOf(cm), `${key} is not a key the services read`))
      }
    }
    const dbSecret = find(model.applied, "Secret", "voting-db", appNamespace)
    for (const key of Object.keys({ ...(dbSecret?.data ?? {}), ...(dbSecret?.stringData ?? {}) }))
      if (!secret.has(key))
        problems.push(
          issue("xref/config-keys", `Secret/${appNamespace}/voting-db`, `${key} is not a secret key the services read`)
        )
    return problems
  },

  "xref/network-flows": (model) => {
    const allowed = allowedFlows(model.applied)
    const expected = expectedFlows(model)
    const missing = expected.filter((f) => !allowed.includes(f))
    const extra = allowed.filter((f) => !expected.includes(f))
    return [
      ...missing.map((f) =>
        issue("xref/network-flows", `NetworkPolicies/${appNamespace}`, `needed flow not allowed: ${f}`)
      ),
      ...extra.map((f) =>
        issue(
          "xref/network-flows",
          `NetworkPolicies/${appNamespace}`,
          `flow allowed that the architecture does not need: ${f}`
        )
      )
    ]
  }
}

export const runCrossChecks = (model: ClusterModel): Array<Issue> =>
  [...Object.values(crossChecks), ...Object.values(observabilityChecks)].flatMap((c) => c(model))

export type { Container }
