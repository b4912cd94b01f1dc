/** RBAC: who may use the Kubernetes API, and for what. */
import { type Issue, idOf } from "./Objects.ts"
import { appNamespace, type RuleFamily } from "./RuleKit.ts"

export const rbacRules: RuleFamily = {
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
    })
}
