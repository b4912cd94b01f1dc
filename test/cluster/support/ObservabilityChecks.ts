/**
 * Cross-checks of the observability stack (`tilt up -- --observability`): the
 * services' span endpoint is Jaeger's OTLP port, Prometheus scrapes every
 * replica of every service on its management port, and every metric the
 * Grafana dashboard queries is one the services export. Each applies only when
 * the objects it reads are applied.
 */
import { parse } from "yaml"
import type { ClusterModel } from "./ClusterModel.ts"
import { dashboardQueries, exportedSeries, metricNames } from "./DashboardMetrics.ts"
import { containersOf, find, type Issue, type K8sObject, matchesLabels, podTemplateOf } from "./Objects.ts"
import { appNamespace, managementPortOf, observabilityNamespace, ourImage, resolvePort } from "./RuleKit.ts"

type Check = (model: ClusterModel) => Array<Issue>
const issue = (rule: string, object: string, message: string): Issue => ({ rule, object, message })

const configMapFile = (model: ClusterModel, name: string, key: string): string | undefined => {
  const text = find(model.applied, "ConfigMap", name, observabilityNamespace)?.data?.[key]
  return typeof text === "string" ? text : undefined
}

/** `svc.ns.svc.cluster.local`, `svc.ns.svc` or `svc.ns` (a bare name is the caller's namespace). */
const serviceOf = (host: string, namespace: string): { name: string; namespace: string } => {
  const parts = host.split(".")
  return { name: parts[0] as string, namespace: parts[1] ?? namespace }
}

const workloadsSelected = (model: ClusterModel, svc: K8sObject) =>
  model.applied.filter(
    (w) =>
      podTemplateOf(w) &&
      w.metadata.namespace === svc.metadata.namespace &&
      matchesLabels(svc.spec?.selector, podTemplateOf(w)?.metadata?.labels)
  )

export const observabilityChecks: Record<string, Check> = {
  /** OTEL_EXPORTER_OTLP_ENDPOINT names a Service port that leads to a container port of the pods behind it. */
  "xref/otlp-endpoint": (model) => {
    const config = find(model.applied, "ConfigMap", "voting-config", appNamespace)?.data ?? {}
    const endpoint = config.OTEL_EXPORTER_OTLP_ENDPOINT
    if (endpoint === undefined) return []
    const object = `ConfigMap/${appNamespace}/voting-config`
    let url: URL
    try {
      url = new URL(endpoint)
    } catch {
      return [issue("xref/otlp-endpoint", object, `OTEL_EXPORTER_OTLP_ENDPOINT ${endpoint} is not a URL`)]
    }
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80))
    const target = serviceOf(url.hostname, appNamespace)
    const svc = find(model.applied, "Service", target.name, target.namespace)
    if (!svc)
      return [
        issue(
          "xref/otlp-endpoint",
          object,
          `OTEL_EXPORTER_OTLP_ENDPOINT ${endpoint}: no Service ${target.name} in ${target.namespace}`
        )
      ]
    const svcPort = (svc.spec?.ports ?? []).find((p: { port: number }) => p.port === port)
    if (!svcPort)
      return [
        issue(
          "xref/otlp-endpoint",
          object,
          `OTEL_EXPORTER_OTLP_ENDPOINT ${endpoint}: Service ${target.name} has no port ${port}`
        )
      ]
    const reaches = workloadsSelected(model, svc).some((w) =>
      containersOf(w).some(
        ({ container, init }) => !init && resolvePort(container, svcPort.targetPort ?? svcPort.port) !== undefined
      )
    )
    return reaches
      ? []
      : [
          issue(
            "xref/otlp-endpoint",
            object,
            `OTEL_EXPORTER_OTLP_ENDPOINT ${endpoint}: Service ${target.name} port ${port} reaches no container port`
          )
        ]
  },

  /**
   * Each service with a management port is scraped by one job named after it,
   * through a headless Service selecting exactly its pods (so each replica is
   * its own target), on the port its MANAGEMENT_PORT says.
   */
  "xref/scrape-targets": (model) => {
    const text = configMapFile(model, "prometheus-config", "prometheus.yml")
    if (text === undefined) return []
    const object = `ConfigMap/${observabilityNamespace}/prometheus-config`
    type Job = { job_name: string; dns_sd_configs?: Array<{ names?: Array<string>; type?: string; port?: number }> }
    const jobs = ((parse(text) as { scrape_configs?: Array<Job> } | null)?.scrape_configs ?? []) as Array<Job>
    const problems: Array<Issue> = []
    const scraped = new Map<string, string>()
    for (const job of jobs) {
      const keys = Object.keys(job).filter((k) => k.endsWith("_sd_configs") || k === "static_configs")
      if (keys.some((k) => k !== "dns_sd_configs"))
        problems.push(
          issue(
            "xref/scrape-targets",
            object,
            `job ${job.job_name} uses ${keys.join(", ")}; only DNS A lookups of headless Services are checked`
          )
        )
      for (const sd of job.dns_sd_configs ?? []) {
        if (sd.type !== "A")
          problems.push(issue("xref/scrape-targets", object, `job ${job.job_name}: type ${sd.type ?? "SRV"}, not A`))
        for (const name of sd.names ?? []) {
          const target = serviceOf(name, observabilityNamespace)
          const svc = find(model.applied, "Service", target.name, target.namespace)
          if (!svc) {
            problems.push(
              issue(
                "xref/scrape-targets",
                object,
                `job ${job.job_name}: no Service ${target.name} in ${target.namespace}`
              )
            )
            continue
          }
          if (svc.spec?.clusterIP !== "None")
            problems.push(
              issue(
                "xref/scrape-targets",
                object,
                `job ${job.job_name}: Service ${target.name} is not headless, so its name is one address and each scrape hits one replica at random`
              )
            )
          for (const w of workloadsSelected(model, svc)) {
            if (w.metadata.name !== job.job_name)
              problems.push(
                issue(
                  "xref/scrape-targets",
                  object,
                  `job ${job.job_name} scrapes ${w.metadata.name}'s pods; name the job after them`
                )
              )
            scraped.set(w.metadata.name, job.job_name)
            for (const { container, init } of containersOf(w)) {
              const management = managementPortOf(container)
              if (init || !ourImage(container, model)) continue
              if (management !== sd.port)
                problems.push(
                  issue(
                    "xref/scrape-targets",
                    object,
                    `job ${job.job_name} scrapes port ${sd.port}, but ${w.metadata.name} serves /metrics on ${management ?? "no management port"}`
                  )
                )
            }
          }
        }
      }
    }
    for (const w of model.applied.filter((o) => podTemplateOf(o) && o.metadata.namespace === appNamespace))
      if (
        containersOf(w).some(({ container, init }) => !init && managementPortOf(container) !== undefined) &&
        !scraped.has(w.metadata.name)
      )
        problems.push(issue("xref/scrape-targets", object, `no job scrapes ${w.metadata.name}'s /metrics`))
    return problems
  },

  /** Every metric a dashboard panel queries is one the services define (read from the code), and the data source exists. */
  "xref/dashboard-metrics": (model) => {
    const text = configMapFile(model, "grafana-dashboards", "voting.json")
    if (text === undefined) return []
    const object = `ConfigMap/${observabilityNamespace}/grafana-dashboards`
    const exported = exportedSeries(model.root)
    const dashboard = JSON.parse(text) as {
      panels?: Array<{ title?: string; targets?: Array<{ expr?: string }>; datasource?: { uid?: string } }>
    }
    const sources = parse(configMapFile(model, "grafana-provisioning-datasources", "datasources.yaml") ?? "") as {
      datasources?: Array<{ uid?: string }>
    } | null
    const uids = new Set((sources?.datasources ?? []).map((d) => d.uid))
    const problems: Array<Issue> = []
    const queries = dashboardQueries(dashboard)
    if (queries.length === 0) problems.push(issue("xref/dashboard-metrics", object, "the dashboard has no queries"))
    for (const { panel, expr } of queries)
      for (const name of metricNames(expr))
        if (!exported.has(name))
          problems.push(
            issue("xref/dashboard-metrics", object, `panel "${panel}" queries ${name}, which no service exports`)
          )
    for (const p of dashboard.panels ?? [])
      if (p.datasource?.uid !== undefined && !uids.has(p.datasource.uid))
        problems.push(issue("xref/dashboard-metrics", object, `data source ${p.datasource.uid} is not provisioned`))
    return problems
  }
}
