/** Pod security and container hygiene: the restricted Pod Security profile, labels, service accounts, and what each container may do and must declare. */
import { secretKeys } from "../../../packages/platform/src/ConfigKeys.ts"
import { find, type Issue, idOf, podTemplateOf } from "./Objects.ts"
import {
  appNamespace,
  imageRepo,
  inApp,
  inObservability,
  inOwn,
  liveUpdated,
  ourImage,
  ownNamespaces,
  perContainer,
  perPod,
  type RuleFamily
} from "./RuleKit.ts"

export const podRules: RuleFamily = {
  /** The app's namespace, and the observability stack's whenever it is applied (its pods too). */
  "namespace/restricted": (model) =>
    ownNamespaces
      .filter((name) => name === appNamespace || model.applied.some((o) => o.metadata?.namespace === name))
      .flatMap((name) => {
        const labels = find(model.applied, "Namespace", name)?.metadata.labels ?? {}
        return labels["pod-security.kubernetes.io/enforce"] === "restricted"
          ? []
          : [
              {
                rule: "namespace/restricted",
                object: `Namespace/${name}`,
                message: "must be labelled pod-security.kubernetes.io/enforce=restricted"
              }
            ]
      }),

  "labels/recommended": (model) =>
    model.applied
      .filter((o) => inOwn(o) || o.kind === "Namespace")
      .flatMap((o) => {
        const labels = o.metadata?.labels ?? {}
        const podLabels = podTemplateOf(o)?.metadata?.labels ?? {}
        const partOf = inApp(o) ? "voting-app" : inObservability(o) ? "voting-observability" : undefined
        const missing = [
          labels["app.kubernetes.io/name"] ? undefined : "app.kubernetes.io/name",
          partOf && labels["app.kubernetes.io/part-of"] !== partOf ? `app.kubernetes.io/part-of=${partOf}` : undefined,
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
    if (!inOwn(workload)) return undefined
    if (spec.automountServiceAccountToken !== false) return "automountServiceAccountToken must be false on the pod"
    const account = find(
      model.applied,
      "ServiceAccount",
      spec.serviceAccountName ?? "default",
      workload.metadata.namespace
    )
    if (account && account.automountServiceAccountToken !== false)
      return `ServiceAccount ${account.metadata.name} must set automountServiceAccountToken: false`
    return undefined
  }),

  "pod/own-service-account": (model) => {
    const users = new Map<string, Array<string>>()
    const issues: Array<Issue> = []
    for (const w of model.applied.filter((o) => podTemplateOf(o) && inOwn(o))) {
      const name = podTemplateOf(w)?.spec.serviceAccountName
      if (!name || name === "default") {
        issues.push({ rule: "pod/own-service-account", object: idOf(w), message: "needs its own serviceAccountName" })
        continue
      }
      const key = `${w.metadata.namespace}/${name}`
      users.set(key, [...(users.get(key) ?? []), idOf(w)])
    }
    for (const [key, ws] of users) {
      if (ws.length > 1)
        issues.push({
          rule: "pod/own-service-account",
          object: `ServiceAccount/${key}`,
          message: `shared by ${ws.join(", ")}`
        })
    }
    return issues
  },

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
  })
}
