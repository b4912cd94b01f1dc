/**
 * What the policy rule families share: the namespaces in scope, the per-pod and
 * per-container rule builders, and the accessors the rules (and the cross-checks) use.
 */
import type { ClusterModel } from "./ClusterModel.ts"
import {
  type Container,
  containersOf,
  find,
  type Issue,
  idOf,
  type K8sObject,
  matchesLabels,
  podTemplateOf
} from "./Objects.ts"

export const appNamespace = "voting"
export const controllerNamespace = "traefik"
/** How long a service may take to drain after SIGTERM (the contract's figure). */
export const serviceDrainSeconds = 10
export const shutdownMarginSeconds = 5

/** The dev loop's observability stack (`tilt up -- --observability`): Jaeger, Prometheus, Grafana. */
export const observabilityNamespace = "observability"
/** Namespaces whose every pod and NetworkPolicy these manifests own (Traefik's namespace has no policies). */
export const ownNamespaces = [appNamespace, observabilityNamespace] as const

export const inApp = (o: K8sObject) => o.metadata?.namespace === appNamespace
export const inObservability = (o: K8sObject) => o.metadata?.namespace === observabilityNamespace
export const inOwn = (o: K8sObject) => inApp(o) || inObservability(o)
export const inScope = (o: K8sObject) => inOwn(o) || o.metadata?.namespace === controllerNamespace
export const podWorkloads = (objects: ReadonlyArray<K8sObject>) => objects.filter((o) => podTemplateOf(o) && inScope(o))

/** Images the Tiltfile builds: their tags are Tilt's to set. */
export const builtImages = (model: ClusterModel) => new Set(model.tilt.docker_builds.map((b) => b.ref))
export const imageRepo = (image: string) => image.replace(/@sha256:.*$/, "").replace(/:[^/:]+$/, "")

/** Containers Tilt live-updates: the only ones allowed a writable root filesystem, in the dev loop only. */
export const liveUpdated = (model: ClusterModel) =>
  new Set(model.tilt.docker_builds.filter((b) => b.live_update.some((s) => s.step === "sync")).map((b) => b.ref))

export type Rule = (model: ClusterModel) => Array<Issue>
/** Rules by id: one family of them, in a file of its own. */
export type RuleFamily = Record<string, Rule>

export const perContainer =
  (
    rule: string,
    check: (
      c: Container,
      ctx: { workload: K8sObject; init: boolean; model: ClusterModel; dev: boolean }
    ) => string | undefined
  ): Rule =>
  (model) => {
    const issues: Array<Issue> = []
    for (const [objects, dev] of [
      [model.production, false],
      [model.applied, true]
    ] as const) {
      for (const workload of podWorkloads(objects)) {
        for (const { container, init, where } of containersOf(workload)) {
          const problem = check(container, { workload, init, model, dev })
          if (problem) issues.push({ rule, object: where, message: problem })
        }
      }
    }
    return dedupe(issues)
  }

export const perPod =
  (rule: string, check: (spec: Container, workload: K8sObject, model: ClusterModel) => string | undefined): Rule =>
  (model) =>
    dedupe(
      [...model.production, ...model.applied].flatMap((workload) => {
        const spec = podTemplateOf(workload)?.spec
        if (!spec || !inScope(workload)) return []
        const problem = check(spec, workload, model)
        return problem ? [{ rule, object: idOf(workload), message: problem }] : []
      })
    )

export const dedupe = (issues: Array<Issue>) => {
  const seen = new Set<string>()
  return issues.filter((i) => {
    const key = `${i.rule}|${i.object}|${i.message}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

export const ourImage = (c: Container, model: ClusterModel) => builtImages(model).has(imageRepo(String(c.image ?? "")))

/** The name every app container gives the port MANAGEMENT_PORT opens (/livez, /readyz, /metrics). */
export const managementPortName = "management"

export const envValue = (c: Container, name: string): string | undefined =>
  ((c.env ?? []) as Array<{ name: string; value?: string }>).find((e) => e.name === name)?.value

/** The port a container serves health and metrics on when MANAGEMENT_PORT moves them off PORT. */
export const managementPortOf = (c: Container): number | undefined => {
  const value = envValue(c, "MANAGEMENT_PORT")
  return value === undefined ? undefined : Number(value)
}

type ContainerPort = { name?: string; containerPort: number }

/** The container port a probe, Service or policy names (by name or number), as a number. */
export const resolvePort = (c: Container, port: number | string | undefined): number | undefined =>
  typeof port === "number"
    ? port
    : ((c.ports ?? []) as Array<ContainerPort>).find((p) => p.name === port)?.containerPort

/** The app containers (ours, not init) of the pods a label selector picks, in one namespace. */
export const appContainersSelected = (
  model: ClusterModel,
  objects: ReadonlyArray<K8sObject>,
  namespace: string | undefined,
  selector: Record<string, string> | undefined
) =>
  objects
    .filter(
      (w) =>
        podTemplateOf(w) &&
        w.metadata?.namespace === namespace &&
        (selector === undefined || Object.keys(selector).length === 0
          ? true
          : matchesLabels(selector, podTemplateOf(w)?.metadata?.labels))
    )
    .flatMap((w) => containersOf(w).filter(({ init, container }) => !init && ourImage(container, model)))
    .map(({ container }) => container)

/** Whether a Service port leads to a selected container's management port. */
export const reachesManagement = (containers: ReadonlyArray<Container>, targetPort: number | string | undefined) =>
  containers.some((c) => {
    const management = managementPortOf(c)
    return management !== undefined && resolvePort(c, targetPort) === management
  })

/** Services some Ingress routes to, with the port each route uses. */
export const ingressBackends = (objects: ReadonlyArray<K8sObject>) =>
  objects
    .filter((o) => o.kind === "Ingress" && inApp(o))
    .flatMap((ing) =>
      (ing.spec?.rules ?? []).flatMap((rule: { host?: string; http?: { paths?: Array<Container> } }) =>
        (rule.http?.paths ?? []).map((path) => ({
          ingress: ing,
          host: rule.host,
          service: find(objects, "Service", path.backend?.service?.name, ing.metadata.namespace),
          port: (path.backend?.service?.port?.name ?? path.backend?.service?.port?.number) as string | number
        }))
      )
    )
