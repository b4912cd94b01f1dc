/** The management port (health and metrics, MANAGEMENT_PORT): never routed, exposed or opened to the public. */
import { idOf } from "./Objects.ts"
import {
  appContainersSelected,
  dedupe,
  inApp,
  ingressBackends,
  managementPortName,
  managementPortOf,
  observabilityNamespace,
  ourImage,
  perContainer,
  type RuleFamily,
  reachesManagement,
  resolvePort
} from "./RuleKit.ts"

/**
 * The metrics scraper: Prometheus in the observability namespace, named by both
 * selectors (a namespace selector alone would admit every pod there).
 */
export const scraper = { namespace: observabilityNamespace, name: "prometheus" } as const

const isScraper = (peer: unknown): boolean => {
  const p = peer as {
    namespaceSelector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown }
    podSelector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown }
    ipBlock?: unknown
  }
  const same = (labels: Record<string, string> | undefined, key: string, value: string) =>
    labels !== undefined && Object.keys(labels).length === 1 && labels[key] === value
  return (
    p.ipBlock === undefined &&
    p.namespaceSelector?.matchExpressions === undefined &&
    p.podSelector?.matchExpressions === undefined &&
    same(p.namespaceSelector?.matchLabels, "kubernetes.io/metadata.name", scraper.namespace) &&
    same(p.podSelector?.matchLabels, "app.kubernetes.io/name", scraper.name)
  )
}

export const managementRules: RuleFamily = {
  /** Health and metrics move to MANAGEMENT_PORT, so the port the Ingress routes to never serves them. */
  "management/required": perContainer("management/required", (c, { init, model }) => {
    if (init || !ourImage(c, model)) return undefined
    const management = managementPortOf(c)
    if (management === undefined)
      return "must set MANAGEMENT_PORT: without it /livez, /readyz and /metrics answer on PORT, which the Ingress routes to"
    return resolvePort(c, managementPortName) === management
      ? undefined
      : `must declare MANAGEMENT_PORT ${management} as containerPort \`${managementPortName}\``
  }),

  "management/probes": perContainer("management/probes", (c, { init }) => {
    const management = managementPortOf(c)
    if (init || management === undefined) return undefined
    const wrong = ["startupProbe", "readinessProbe", "livenessProbe"].filter(
      (p) => c[p]?.httpGet && resolvePort(c, c[p].httpGet.port) !== management
    )
    return wrong.length > 0
      ? `${wrong.join(", ")} must probe the management port ${management}, where health is served`
      : undefined
  }),

  "management/ingress-backend": (model) =>
    dedupe(
      [model.production, model.applied].flatMap((objects) =>
        ingressBackends(objects).flatMap(({ ingress, host, service, port }) => {
          const svcPort = (service?.spec?.ports ?? []).find(
            (p: { name?: string; port: number }) => p.name === port || p.port === port
          )
          const containers = appContainersSelected(
            model,
            objects,
            service?.metadata?.namespace,
            service?.spec?.selector
          )
          return svcPort && reachesManagement(containers, svcPort.targetPort ?? svcPort.port)
            ? [
                {
                  rule: "management/ingress-backend",
                  object: idOf(ingress),
                  message: `${host} routes to Service ${service?.metadata.name} port ${port}, the pods' management port: health and metrics would be public`
                }
              ]
            : []
        })
      )
    ),

  "management/public-service": (model) =>
    dedupe(
      [model.production, model.applied].flatMap((objects) =>
        [...new Set(ingressBackends(objects).flatMap(({ service }) => (service ? [service] : [])))].flatMap(
          (service) => {
            const containers = appContainersSelected(model, objects, service.metadata.namespace, service.spec?.selector)
            return (service.spec?.ports ?? [])
              .filter((p: { port: number; targetPort?: number | string }) =>
                reachesManagement(containers, p.targetPort ?? p.port)
              )
              .map((p: { name?: string; port: number }) => ({
                rule: "management/public-service",
                object: idOf(service),
                message: `an Ingress routes to this Service, so it must not expose the management port (port ${p.name ?? p.port})`
              }))
          }
        )
      )
    ),

  /**
   * The kubelet's probes need no rule; nothing else may reach a management port
   * but the metrics scraper, by a rule of its own that names it alone.
   */
  "network-policy/management-closed": (model) =>
    dedupe(
      [model.production, model.applied].flatMap((objects) =>
        objects
          .filter((o) => o.kind === "NetworkPolicy" && inApp(o))
          .flatMap((policy) => {
            const containers = appContainersSelected(
              model,
              objects,
              policy.metadata.namespace,
              policy.spec?.podSelector?.matchLabels ?? {}
            ).filter((c) => managementPortOf(c) !== undefined)
            return (policy.spec?.ingress ?? []).flatMap(
              (rule: { from?: Array<unknown>; ports?: Array<{ port?: number | string }> }) => {
                // The scraper's own rule: Prometheus alone, on management ports alone.
                const scraperOnly =
                  (rule.from ?? []).length > 0 &&
                  (rule.from ?? []).every(isScraper) &&
                  (rule.ports ?? []).length > 0 &&
                  (rule.ports ?? []).every(
                    (p) =>
                      p.port !== undefined && containers.some((c) => resolvePort(c, p.port) === managementPortOf(c))
                  )
                if (scraperOnly) return []
                const opened = containers.filter(
                  (c) =>
                    (rule.ports ?? []).length === 0 ||
                    (rule.ports ?? []).some(
                      (p) => p.port === undefined || resolvePort(c, p.port) === managementPortOf(c)
                    )
                )
                return opened.length === 0
                  ? []
                  : [
                      {
                        rule: "network-policy/management-closed",
                        object: idOf(policy),
                        message: `an ingress rule opens the management port ${managementPortOf(opened[0])} to ${JSON.stringify(rule.from ?? "every peer")}; only a metrics scraper may have it, by its own rule`
                      }
                    ]
              }
            )
          })
      )
    )
}
