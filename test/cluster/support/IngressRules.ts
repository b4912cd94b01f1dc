/**
 * The edge: TLS on the Ingress, the controller that terminates it (and what it
 * may see), and the limits and headers Traefik's middlewares add in front of the app.
 */
import { parse } from "yaml"
import type { ClusterModel } from "./ClusterModel.ts"
import { type Container, find, type Issue, idOf, type K8sObject } from "./Objects.ts"
import { appNamespace, controllerNamespace, inApp, type RuleFamily } from "./RuleKit.ts"

const tlsHosts = ["vote.localhost", "result.localhost"]
/** The paths that take a vote (POST / from the form, POST /api/vote). */
const votePaths = ["/", "/api/vote"]
const streamPath = "/api/results/stream"
const annotation = "traefik.ingress.kubernetes.io/router."

const controller = (model: ClusterModel) => find(model.applied, "Deployment", "traefik", controllerNamespace)
const flagValue = (c: Container | undefined, name: string): string | undefined =>
  ((c?.args ?? []) as Array<unknown>)
    .map(String)
    .find((a) => a.startsWith(`${name}=`))
    ?.slice(name.length + 1)

type SourceCriterion = {
  ipStrategy?: { depth?: number; excludedIPs?: Array<string> }
  requestHeaderName?: string
  requestHost?: boolean
}
type Middleware = {
  headers?: { stsSeconds?: number }
  rateLimit?: { average?: number; burst?: number; sourceCriterion?: SourceCriterion }
  inFlightReq?: { amount?: number; sourceCriterion?: SourceCriterion }
}

/**
 * The file provider's middlewares by the name Ingresses use (`<name>@file`): the
 * file --providers.file.filename names, read from the ConfigMap mounted there.
 */
const fileMiddlewares = (model: ClusterModel): Map<string, Middleware> => {
  const spec = controller(model)?.spec?.template?.spec
  const c = spec?.containers?.[0]
  const filename = flagValue(c, "--providers.file.filename")
  const middlewares = new Map<string, Middleware>()
  if (!filename) return middlewares
  const dir = filename.slice(0, filename.lastIndexOf("/"))
  const key = filename.slice(filename.lastIndexOf("/") + 1)
  const mount = ((c?.volumeMounts ?? []) as Array<{ name: string; mountPath: string }>).find((m) => m.mountPath === dir)
  const volume = ((spec?.volumes ?? []) as Array<{ name: string; configMap?: { name: string } }>).find(
    (v) => v.name === mount?.name
  )
  const text =
    volume?.configMap && find(model.applied, "ConfigMap", volume.configMap.name, controllerNamespace)?.data?.[key]
  if (typeof text !== "string") return middlewares
  const doc = parse(text) as { http?: { middlewares?: Record<string, Middleware> } } | null
  for (const [name, m] of Object.entries(doc?.http?.middlewares ?? {})) middlewares.set(`${name}@file`, m ?? {})
  return middlewares
}

type Route = {
  ingress: K8sObject
  host: string
  path: string
  exact: boolean
  priority: number
  middlewares: Array<string>
}

/**
 * Every route the app's Ingresses declare, as Traefik's Ingress provider makes it:
 * `Host(h) && Path(p)` for Exact, else `PathPrefix(p)`; the router.priority
 * annotation, or by default the length of that rule.
 */
const routes = (model: ClusterModel): Array<Route> =>
  model.applied
    .filter((o) => o.kind === "Ingress" && inApp(o))
    .flatMap((ingress) => {
      const annotations = ingress.metadata.annotations ?? {}
      const middlewares = (annotations[`${annotation}middlewares`] ?? "")
        .split(",")
        .map((m) => m.trim())
        .filter((m) => m.length > 0)
      const explicit = Number(annotations[`${annotation}priority`] ?? 0)
      return ((ingress.spec?.rules ?? []) as Array<{ host?: string; http?: { paths?: Array<Container> } }>).flatMap(
        (rule) =>
          (rule.http?.paths ?? []).map((p): Route => {
            const exact = p.pathType === "Exact"
            const text = `Host(${JSON.stringify(rule.host)}) && ${exact ? "Path" : "PathPrefix"}(${JSON.stringify(p.path)})`
            return {
              ingress,
              host: String(rule.host),
              path: String(p.path),
              exact,
              priority: explicit > 0 ? explicit : text.length,
              middlewares
            }
          })
      )
    })

/** The route Traefik picks for a request: the highest priority among those that match. */
const routeFor = (model: ClusterModel, host: string, path: string): Route | undefined =>
  routes(model)
    .filter((r) => r.host === host && (r.exact ? r.path === path : path.startsWith(r.path)))
    .sort((a, b) => b.priority - a.priority)[0]

const where = (r: Route) => `${r.host}${r.path} (${idOf(r.ingress)}, priority ${r.priority})`

/**
 * Why a limit's source criterion does not key on the client, if it does not. Traefik
 * is the first hop: it trusts no X-Forwarded-For (it drops the clients' own), so an
 * ipStrategy that reads it (depth, excludedIPs) finds it empty: one bucket for all.
 */
const notPerClient = (sc: SourceCriterion | undefined, defaultIsHost: boolean): string | undefined => {
  const none = !sc || (!sc.ipStrategy && !sc.requestHeaderName && !sc.requestHost)
  if (none)
    return defaultIsHost
      ? "has no sourceCriterion, so it groups by request host: one bucket for every client"
      : undefined
  if (sc?.requestHost) return "groups by request host: one bucket for every client"
  if (sc?.requestHeaderName) return `groups by the ${sc.requestHeaderName} header, which each client sets as it likes`
  if ((sc?.ipStrategy?.depth ?? 0) > 0 || (sc?.ipStrategy?.excludedIPs ?? []).length > 0)
    return "reads X-Forwarded-For (ipStrategy depth or excludedIPs), which is empty at the edge: one bucket for every client"
  return undefined
}

const limitAt = (
  model: ClusterModel,
  rule: string,
  host: string,
  path: string,
  kind: "rateLimit" | "inFlightReq"
): Array<Issue> => {
  const route = routeFor(model, host, path)
  const object = route ? idOf(route.ingress) : `Ingress/${appNamespace}`
  if (!route) return [{ rule, object, message: `no route for ${host}${path}` }]
  const middlewares = fileMiddlewares(model)
  const limit = route.middlewares.map((name) => middlewares.get(name)?.[kind]).find((m) => m !== undefined)
  if (!limit)
    return [{ rule, object, message: `${path} is routed by ${where(route)}, which has no ${kind} middleware` }]
  const size = kind === "rateLimit" ? (limit as { average?: number }).average : (limit as { amount?: number }).amount
  if (!(typeof size === "number" && size > 0))
    return [
      { rule, object, message: `${kind} on ${where(route)} needs ${kind === "rateLimit" ? "average" : "amount"} > 0` }
    ]
  const problem = notPerClient(limit.sourceCriterion, kind === "inFlightReq")
  return problem ? [{ rule, object, message: `${kind} on ${where(route)} ${problem}` }] : []
}

export const ingressRules: RuleFamily = {
  /** Both hosts are served, and every Ingress routing one lists it in a TLS entry with a Secret. */
  "ingress/tls": (model) => {
    const ingresses = model.applied.filter((o) => o.kind === "Ingress" && inApp(o))
    const routesHost = (i: K8sObject, host: string) =>
      (i.spec?.rules ?? []).some((r: { host?: string }) => r.host === host)
    const hasTls = (i: K8sObject, host: string) =>
      (i.spec?.tls ?? []).some(
        (t: { hosts?: Array<string>; secretName?: string }) => t.secretName && (t.hosts ?? []).includes(host)
      )
    return tlsHosts.flatMap((host): Array<Issue> => {
      const routing = ingresses.filter((i) => routesHost(i, host))
      if (routing.length === 0)
        return [
          {
            rule: "ingress/tls",
            object: `Ingress/${appNamespace}`,
            message: `${host} needs a rule and a TLS entry with a Secret`
          }
        ]
      return routing
        .filter((i) => !hasTls(i, host))
        .map((i) => ({
          rule: "ingress/tls",
          object: idOf(i),
          message: `${host} is routed here without a TLS entry (with a Secret) for it`
        }))
    })
  },

  "ingress/controller": (model) => {
    const traefik = find(model.applied, "Deployment", "traefik", controllerNamespace)
    const c = traefik?.spec?.template?.spec?.containers?.[0]
    const args: Array<string> = (c?.args ?? []).map(String)
    const hostPorts = new Set((c?.ports ?? []).map((p: { hostPort?: number }) => p.hostPort))
    const problems = [
      args.some((a) => /^--entryPoints\.web\.http\.redirections\.entryPoint\.scheme=https$/.test(a)) &&
      args.some((a) => /^--entryPoints\.web\.http\.redirections\.entryPoint\.to=/.test(a))
        ? undefined
        : "HTTP is not redirected to HTTPS",
      hostPorts.has(80) && hostPorts.has(443) ? undefined : "does not bind hostPorts 80 and 443",
      traefik?.spec?.template?.spec?.nodeSelector?.["ingress-ready"] === "true"
        ? undefined
        : "not pinned to the ingress-ready node"
    ].filter((p) => p !== undefined)
    return problems.map((message) => ({
      rule: "ingress/controller",
      object: `Deployment/${controllerNamespace}/traefik`,
      message
    }))
  },

  /** The internet-facing controller sees the app's namespace only (its Role there grants what it reads). */
  "ingress/controller-namespaces": (model) => {
    const namespaces = flagValue(
      controller(model)?.spec?.template?.spec?.containers?.[0],
      "--providers.kubernetesingress.namespaces"
    )
    return namespaces === appNamespace
      ? []
      : [
          {
            rule: "ingress/controller-namespaces",
            object: `Deployment/${controllerNamespace}/traefik`,
            message: `must watch only ${appNamespace} (--providers.kubernetesingress.namespaces=${appNamespace}); it watches ${namespaces ?? "every namespace"}`
          }
        ]
  },

  /** A middleware an Ingress names that the file provider does not define drops the route (404). */
  "ingress/middleware-defined": (model) => {
    const defined = fileMiddlewares(model)
    const seen = new Set<string>()
    return routes(model).flatMap(
      (r): Array<Issue> =>
        r.middlewares
          .filter((name) => !defined.has(name) && !seen.has(`${idOf(r.ingress)}|${name}`))
          .map((name) => {
            seen.add(`${idOf(r.ingress)}|${name}`)
            return {
              rule: "ingress/middleware-defined",
              object: idOf(r.ingress),
              message: `middleware ${name} is not defined by the controller's file provider`
            }
          })
    )
  },

  /** Every route of a TLS host sends Strict-Transport-Security. */
  "ingress/hsts": (model) => {
    const middlewares = fileMiddlewares(model)
    return routes(model)
      .filter((r) => tlsHosts.includes(r.host))
      .filter((r) => !r.middlewares.some((name) => (middlewares.get(name)?.headers?.stsSeconds ?? 0) > 0))
      .map((r) => ({
        rule: "ingress/hsts",
        object: idOf(r.ingress),
        message: `${r.host}${r.path} has no HSTS middleware (headers with stsSeconds > 0)`
      }))
  },

  /** The paths that take a vote are rate-limited per client address at the edge. */
  "ingress/vote-rate-limit": (model) =>
    votePaths.flatMap((path) => limitAt(model, "ingress/vote-rate-limit", "vote.localhost", path, "rateLimit")),

  /** Open results event streams are limited per client address at the edge. */
  "ingress/stream-in-flight": (model) =>
    limitAt(model, "ingress/stream-in-flight", "result.localhost", streamPath, "inFlightReq")
}
