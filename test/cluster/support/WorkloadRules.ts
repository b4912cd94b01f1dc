/** Workloads: replicas, rollouts, shutdown, disruption budgets and autoscaling, and the init containers that check config and migrate. */
import { type Container, find, idOf, type K8sObject, matchesLabels, podTemplateOf } from "./Objects.ts"
import { appNamespace, inApp, perPod, type RuleFamily, serviceDrainSeconds, shutdownMarginSeconds } from "./RuleKit.ts"

export const workloadRules: RuleFamily = {
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
  }
}
