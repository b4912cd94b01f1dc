/**
 * The good practices the manifests are meant to teach, as rules. Each rule has
 * an id; a finding names the rule, the object and what is wrong.
 */
import { secretKeys } from "../../../packages/platform/src/ConfigKeys.ts"
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
const shutdownMarginSeconds = 5

const inApp = (o: K8sObject) => o.metadata?.namespace === appNamespace
const inScope = (o: K8sObject) => inApp(o) || o.metadata?.namespace === controllerNamespace
const podWorkloads = (objects: ReadonlyArray<K8sObject>) => objects.filter((o) => podTemplateOf(o) && inScope(o))

/** Images the Tiltfile builds: their tags are Tilt's to set. */
export const builtImages = (model: ClusterModel) => new Set(model.tilt.docker_builds.map((b) => b.ref))
export const imageRepo = (image: string) => image.replace(/@sha256:.*$/, "").replace(/:[^/:]+$/, "")

/** Containers Tilt live-updates: the only ones allowed a writable root filesystem, in the dev loop only. */
const liveUpdated = (model: ClusterModel) =>
  new Set(model.tilt.docker_builds.filter((b) => b.live_update.some((s) => s.step === "sync")).map((b) => b.ref))

type Rule = (model: ClusterModel) => Array<Issue>

const perContainer =
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

const perPod =
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

const dedupe = (issues: Array<Issue>) => {
  const seen = new Set<string>()
  return issues.filter((i) => {
    const key = `${i.rule}|${i.object}|${i.message}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

const ourImage = (c: Container, model: ClusterModel) => builtImages(model).has(imageRepo(String(c.image ?? "")))

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
const appContainersSelected = (
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
const reachesManagement = (containers: ReadonlyArray<Container>, targetPort: number | string | undefined) =>
  containers.some((c) => {
    const management = managementPortOf(c)
    return management !== undefined && resolvePort(c, targetPort) === management
  })

/** Services some Ingress routes to, with the port each route uses. */
const ingressBackends = (objects: ReadonlyArray<K8sObject>) =>
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

export const policyRules: Record<string, Rule> = {
  "namespace/restricted": (model) => {
    const ns = find(model.applied, "Namespace", appNamespace)
    const labels = ns?.metadata.labels ?? {}
    return labels["pod-security.kubernetes.io/enforce"] === "restricted"
      ? []
      : [
          {
            rule: "namespace/restricted",
            object: `Namespace/${appNamespace}`,
            message: "must be labelled pod-security.kubernetes.io/enforce=restricted"
          }
        ]
  },

  "labels/recommended": (model) =>
    model.applied
      .filter((o) => inApp(o) || o.kind === "Namespace")
      .flatMap((o) => {
        const labels = o.metadata?.labels ?? {}
        const podLabels = podTemplateOf(o)?.metadata?.labels ?? {}
        const missing = [
          labels["app.kubernetes.io/name"] ? undefined : "app.kubernetes.io/name",
          inApp(o) && labels["app.kubernetes.io/part-of"] !== "voting-app"
            ? "app.kubernetes.io/part-of=voting-app"
            : undefined,
          podTemplateOf(o) && !podLabels["app.kubernetes.io/name"] ? "pod template app.kubernetes.io/name" : undefined
        ].filter((m) => m !== undefined)
        return missing.length === 0
          ? []
          : [{ rule: "labels/recommended", object: idOf(o), message: `missing label ${missing.join(", ")}` }]
      }),

  "pod/non-root": perPod("pod/non-root", (spec) =>
    spec.securityContext?.runAsNonRoot === true && spec.securityContext?.runAsUser !== 0
      ? undefined
      : "securityContext.runAsNonRoot must be true (and runAsUser not 0)"
  ),

  "pod/seccomp-runtime-default": perPod("pod/seccomp-runtime-default", (spec) =>
    spec.securityContext?.seccompProfile?.type === "RuntimeDefault"
      ? undefined
      : "securityContext.seccompProfile.type must be RuntimeDefault"
  ),

  "pod/no-token-automount": perPod("pod/no-token-automount", (spec, workload, model) => {
    if (!inApp(workload)) return undefined
    if (spec.automountServiceAccountToken !== false) return "automountServiceAccountToken must be false on the pod"
    const account = find(model.applied, "ServiceAccount", spec.serviceAccountName ?? "default", appNamespace)
    if (account && account.automountServiceAccountToken !== false)
      return `ServiceAccount ${account.metadata.name} must set automountServiceAccountToken: false`
    return undefined
  }),

  "pod/own-service-account": (model) => {
    const users = new Map<string, Array<string>>()
    const issues: Array<Issue> = []
    for (const w of model.applied.filter((o) => podTemplateOf(o) && inApp(o))) {
      const name = podTemplateOf(w)?.spec.serviceAccountName
      if (!name || name === "default") {
        issues.push({ rule: "pod/own-service-account", object: idOf(w), message: "needs its own serviceAccountName" })
        continue
      }
      users.set(name, [...(users.get(name) ?? []), idOf(w)])
    }
    for (const [name, ws] of users) {
      if (ws.length > 1)
        issues.push({
          rule: "pod/own-service-account",
          object: `ServiceAccount/${appNamespace}/${name}`,
          message: `shared by ${ws.join(", ")}`
        })
    }
    return issues
  },

  "rbac/least-privilege": (model) =>
    model.applied.flatMap((o): Array<Issue> => {
      if (
        (o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding") &&
        (o.subjects ?? []).some((s: { namespace?: string }) => s.namespace === appNamespace)
      ) {
        return [
          { rule: "rbac/least-privilege", object: idOf(o), message: "the app's service accounts use no Kubernetes API" }
        ]
      }
      if (o.kind === "ClusterRole" || o.kind === "Role") {
        const writes = (o.rules ?? []).filter(
          (r: { verbs: Array<string>; resources: Array<string> }) =>
            r.verbs.some((v) => !["get", "list", "watch"].includes(v)) &&
            !(r.resources.length === 1 && r.resources[0] === "ingresses/status" && r.verbs.join() === "update")
        )
        if (writes.length > 0 || (o.rules ?? []).some((r: { verbs: Array<string> }) => r.verbs.includes("*")))
          return [
            {
              rule: "rbac/least-privilege",
              object: idOf(o),
              message: "grants more than read access (plus ingresses/status update)"
            }
          ]
      }
      return []
    }),

  "container/no-privilege-escalation": perContainer("container/no-privilege-escalation", (c) =>
    c.securityContext?.allowPrivilegeEscalation === false ? undefined : "allowPrivilegeEscalation must be false"
  ),

  "container/drop-all-capabilities": perContainer("container/drop-all-capabilities", (c) => {
    const caps = c.securityContext?.capabilities ?? {}
    if (!(caps.drop ?? []).includes("ALL")) return "capabilities.drop must include ALL"
    const added = (caps.add ?? []).filter((a: string) => a !== "NET_BIND_SERVICE")
    return added.length > 0 ? `adds capabilities ${added.join(", ")}` : undefined
  }),

  "container/read-only-root": (model) => {
    const relaxed = liveUpdated(model)
    return perContainer("container/read-only-root", (c, { init, dev }) => {
      if (c.securityContext?.readOnlyRootFilesystem === true) return undefined
      if (dev && !init && relaxed.has(imageRepo(c.image))) return undefined
      return dev
        ? "readOnlyRootFilesystem must be true (only live-updated app containers may relax it, in the dev loop)"
        : "readOnlyRootFilesystem must be true"
    })(model)
  },

  "container/resources": perContainer("container/resources", (c) => {
    const missing = ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory"].filter((path) => {
      const [kind, resource] = path.split(".") as [string, string]
      return c.resources?.[kind]?.[resource] === undefined
    })
    return missing.length > 0 ? `missing resources ${missing.join(", ")}` : undefined
  }),

  "container/probes": perContainer("container/probes", (c, { init }) => {
    if (init) return undefined
    const missing = ["startupProbe", "readinessProbe", "livenessProbe"].filter((p) => !c[p])
    return missing.length > 0 ? `missing ${missing.join(", ")}` : undefined
  }),

  "container/pinned-image": perContainer("container/pinned-image", (c, { model }) => {
    const image = String(c.image ?? "")
    if (ourImage(c, model)) return undefined
    if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined
    const tag = /:([^/:@]+)$/.exec(image)?.[1]
    if (!tag) return `image ${image} has no tag`
    if (tag === "latest" || !/\d+\.\d+/.test(tag)) return `image ${image} is not pinned to a version tag`
    return undefined
  }),

  "container/no-secret-in-env": perContainer("container/no-secret-in-env", (c) => {
    const env = (c.env ?? []) as Array<{ name: string; value?: string; valueFrom?: Record<string, unknown> }>
    const bySecretRef = env.find((e) => e.valueFrom?.secretKeyRef)
    if (bySecretRef) return `env ${bySecretRef.name} comes from a Secret; mount the Secret as files instead`
    if ((c.envFrom ?? []).some((e: { secretRef?: unknown }) => e.secretRef))
      return "envFrom a Secret; mount it as files instead"
    const named = env.find((e) => (secretKeys as ReadonlyArray<string>).includes(e.name))
    return named ? `env ${named.name} holds a secret; read it from the mounted Secret file` : undefined
  }),

  "container/config-in-files": perContainer("container/config-in-files", (c, { model }) => {
    if (!ourImage(c, model)) return undefined
    const allowed = new Set(["CONFIG_DIR", "SECRETS_DIR", "PORT", "MANAGEMENT_PORT", "NODE_ENV"])
    const extra = ((c.env ?? []) as Array<{ name: string }>).map((e) => e.name).filter((n) => !allowed.has(n))
    return extra.length > 0 ? `configuration in env (${extra.join(", ")}); put it in the ConfigMap` : undefined
  }),

  "deployment/replicas": (model) =>
    model.production
      .filter((o) => o.kind === "Deployment" && inApp(o) && !((o.spec?.replicas ?? 1) >= 2))
      .map((o) => ({
        rule: "deployment/replicas",
        object: idOf(o),
        message: "a stateless workload runs at least 2 replicas"
      })),

  "deployment/rolling-update": (model) =>
    model.production
      .filter((o) => o.kind === "Deployment" && inApp(o))
      .flatMap((o) => {
        const s = o.spec?.strategy
        return s?.type === "RollingUpdate" && s.rollingUpdate?.maxUnavailable === 0
          ? []
          : [
              {
                rule: "deployment/rolling-update",
                object: idOf(o),
                message: "strategy must be RollingUpdate with maxUnavailable: 0"
              }
            ]
      }),

  "pod/graceful-shutdown": perPod("pod/graceful-shutdown", (spec, workload) => {
    if (!inApp(workload) || workload.kind !== "Deployment") return undefined
    const grace = spec.terminationGracePeriodSeconds
    const preStop = Math.max(
      0,
      ...(spec.containers ?? []).map((c: Container) => c.lifecycle?.preStop?.sleep?.seconds ?? 0)
    )
    const needed = preStop + serviceDrainSeconds + shutdownMarginSeconds
    if (typeof grace !== "number") return "terminationGracePeriodSeconds must be set"
    if (grace < needed)
      return `terminationGracePeriodSeconds ${grace} < preStop ${preStop} s + drain ${serviceDrainSeconds} s + ${shutdownMarginSeconds} s`
    if (grace > 120) return `terminationGracePeriodSeconds ${grace} is far beyond the ${serviceDrainSeconds} s drain`
    return undefined
  }),

  "network-policy/default-deny": (model) => {
    const deny = model.applied.find(
      (o) =>
        o.kind === "NetworkPolicy" &&
        inApp(o) &&
        Object.keys(o.spec?.podSelector ?? {}).length === 0 &&
        ["Ingress", "Egress"].every((t) => (o.spec?.policyTypes ?? []).includes(t)) &&
        !o.spec?.ingress &&
        !o.spec?.egress
    )
    return deny
      ? []
      : [
          {
            rule: "network-policy/default-deny",
            object: `Namespace/${appNamespace}`,
            message: "no default-deny policy for Ingress and Egress"
          }
        ]
  },

  "network-policy/coverage": (model) => {
    const policies = model.applied.filter(
      (o) => o.kind === "NetworkPolicy" && inApp(o) && Object.keys(o.spec?.podSelector?.matchLabels ?? {}).length > 0
    )
    return model.applied
      .filter((o) => podTemplateOf(o) && inApp(o))
      .filter(
        (w) => !policies.some((p) => matchesLabels(p.spec.podSelector.matchLabels, podTemplateOf(w)?.metadata?.labels))
      )
      .map((w) => ({ rule: "network-policy/coverage", object: idOf(w), message: "no NetworkPolicy selects its pods" }))
  },

  "statefulset/storage": (model) =>
    model.applied
      .filter((o) => o.kind === "StatefulSet" && inApp(o))
      .flatMap((o) => {
        const claims = new Set((o.spec?.volumeClaimTemplates ?? []).map((t: K8sObject) => t.metadata?.name))
        const mounted = containersOf(o).some(({ container }) =>
          (container.volumeMounts ?? []).some((m: { name: string }) => claims.has(m.name))
        )
        return claims.size > 0 && mounted
          ? []
          : [
              {
                rule: "statefulset/storage",
                object: idOf(o),
                message: "needs a volumeClaimTemplate mounted by its container"
              }
            ]
      }),

  "postgres/pg-isready": (model) => {
    const pg = find(model.applied, "StatefulSet", "postgres", appNamespace)
    const c = pg?.spec?.template?.spec?.containers?.[0]
    const usesPgIsready = (p: Container) => JSON.stringify(p?.exec?.command ?? []).includes("pg_isready")
    return c && ["readinessProbe", "livenessProbe", "startupProbe"].every((p) => usesPgIsready(c[p]))
      ? []
      : [
          {
            rule: "postgres/pg-isready",
            object: `StatefulSet/${appNamespace}/postgres`,
            message: "probes must run pg_isready"
          }
        ]
  },

  "redis/append-only": (model) => {
    const redis = find(model.applied, "StatefulSet", "redis", appNamespace)
    const c = redis?.spec?.template?.spec?.containers?.[0]
    const args: Array<string> = [...(c?.command ?? []), ...(c?.args ?? [])].map(String)
    const flag = (name: string) => args[args.indexOf(name) + 1]
    const dataOnClaim = (c?.volumeMounts ?? []).some(
      (m: { name: string; mountPath: string }) =>
        m.mountPath === flag("--dir") &&
        (redis?.spec?.volumeClaimTemplates ?? []).some((t: K8sObject) => t.metadata?.name === m.name)
    )
    return flag("--appendonly") === "yes" && dataOnClaim
      ? []
      : [
          {
            rule: "redis/append-only",
            object: `StatefulSet/${appNamespace}/redis`,
            message: "needs --appendonly yes with --dir on its volume claim"
          }
        ]
  },

  "availability/pdb-and-hpa": (model) =>
    model.applied
      .filter((o) => o.kind === "Deployment" && inApp(o))
      .flatMap((d) => {
        const labels = podTemplateOf(d)?.metadata?.labels
        const pdb = model.applied.some(
          (o) => o.kind === "PodDisruptionBudget" && inApp(o) && matchesLabels(o.spec?.selector?.matchLabels, labels)
        )
        const hpa = model.applied.some(
          (o) =>
            o.kind === "HorizontalPodAutoscaler" &&
            inApp(o) &&
            o.spec?.scaleTargetRef?.kind === "Deployment" &&
            o.spec?.scaleTargetRef?.name === d.metadata.name
        )
        const missing = [pdb ? undefined : "PodDisruptionBudget", hpa ? undefined : "HorizontalPodAutoscaler"].filter(
          Boolean
        )
        return missing.length === 0
          ? []
          : [{ rule: "availability/pdb-and-hpa", object: idOf(d), message: `no ${missing.join(" or ")}` }]
      }),

  "ingress/tls": (model) => {
    const hosts = ["vote.localhost", "result.localhost"]
    const ingresses = model.applied.filter((o) => o.kind === "Ingress" && inApp(o))
    return hosts.flatMap((host) => {
      const served = ingresses.some(
        (i) =>
          (i.spec?.rules ?? []).some((r: { host?: string }) => r.host === host) &&
          (i.spec?.tls ?? []).some(
            (t: { hosts?: Array<string>; secretName?: string }) => t.secretName && (t.hosts ?? []).includes(host)
          )
      )
      return served
        ? []
        : [
            {
              rule: "ingress/tls",
              object: `Ingress/${appNamespace}`,
              message: `${host} needs a rule and a TLS entry with a Secret`
            }
          ]
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

  "init/check-config": (model) =>
    ["worker", "result"].flatMap((name) => {
      const w = find(model.applied, "Deployment", name, appNamespace)
      const spec = podTemplateOf(w ?? ({} as K8sObject))?.spec
      const check = (spec?.initContainers ?? []).find((c: Container) =>
        JSON.stringify(c.args ?? []).includes("check-config")
      )
      const secretVolume = (spec?.volumes ?? []).find((v: { secret?: unknown }) => v.secret)
      if (!check)
        return [
          {
            rule: "init/check-config",
            object: `Deployment/${appNamespace}/${name}`,
            message: "no init container checks the config"
          }
        ]
      if (spec?.initContainers?.[0] !== check)
        return [
          {
            rule: "init/check-config",
            object: `Deployment/${appNamespace}/${name}`,
            message: "the config check must run first"
          }
        ]
      if (secretVolume && secretVolume.secret.optional !== true)
        return [
          {
            rule: "init/check-config",
            object: `Deployment/${appNamespace}/${name}`,
            message: "the Secret volume must be optional so check-config, not a stuck pod, reports a missing Secret"
          }
        ]
      return []
    }),

  "init/migrate": (model) => {
    const spec = find(model.applied, "Deployment", "worker", appNamespace)?.spec?.template?.spec
    const inits = (spec?.initContainers ?? []) as Array<Container>
    const object = `Deployment/${appNamespace}/worker`
    const migrate = inits.findIndex((c) => JSON.stringify(c.args ?? []).includes("migrate"))
    const check = inits.findIndex((c) => JSON.stringify(c.args ?? []).includes("check-config"))
    const problems: Array<string> = []
    if (migrate < 0)
      problems.push(`no init container applies the schema (init containers: ${inits.map((c) => c.name).join(", ")})`)
    else if (check > migrate) problems.push("migrate must run after check-config")
    // The bug this replaced: pg_isready with no user, as a uid with no passwd entry in the
    // postgres image, gets "no attempt" forever. migrate waits for PostgreSQL itself, with backoff.
    for (const c of inits)
      if (JSON.stringify([c.command, c.args]).includes("pg_isready"))
        problems.push(
          `initContainer ${c.name} waits with pg_isready; migrate already waits for PostgreSQL (with backoff)`
        )
    return problems.map((message) => ({ rule: "init/migrate", object, message }))
  },

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

export const runPolicyRules = (model: ClusterModel): Array<Issue> =>
  Object.values(policyRules).flatMap((rule) => rule(model))
