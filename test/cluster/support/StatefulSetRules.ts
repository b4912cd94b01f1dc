/** StatefulSets: storage on volume claims, and the probes and persistence of PostgreSQL and Redis. */
import { type Container, containersOf, find, idOf, type K8sObject } from "./Objects.ts"
import { appNamespace, inApp, type RuleFamily } from "./RuleKit.ts"

export const statefulSetRules: RuleFamily = {
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
  }
}
