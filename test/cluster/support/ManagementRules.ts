/** The management port (health and metrics, MANAGEMENT_PORT): never routed, exposed or opened to the public. */
import { idOf } from "./Objects.ts"
import {
  appContainersSelected,
  dedupe,
  inApp,
  ingressBackends,
  managementPortName,
  managementPortOf,
  ourImage,
  perContainer,
  type RuleFamily,
  reachesManagement,
  resolvePort
} from "./RuleKit.ts"

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
   * The kubelet's probes need no rule; nothing else may reach a management port.
   * When a metrics scraper is deployed, its peer (and only its) is allowed here.
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
