/** RBAC: who may use the Kubernetes API, and for what. */
import { find, type Issue, idOf, type K8sObject } from "./Objects.ts"
import { appNamespace, type RuleFamily } from "./RuleKit.ts"

type PolicyRule = { apiGroups?: Array<string>; resources?: Array<string>; verbs?: Array<string> }

/** Whether a role's rules let it read Secrets (get, list or watch, or a wildcard standing for them). */
const readsSecrets = (role: K8sObject) =>
  ((role.rules ?? []) as Array<PolicyRule>).some(
    (r) =>
      (r.apiGroups ?? []).some((g) => g === "" || g === "*") &&
      (r.resources ?? []).some((x) => x === "secrets" || x === "*") &&
      (r.verbs ?? []).some((v) => ["get", "list", "watch", "*"].includes(v))
  )

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
    }),

  /**
   * A ClusterRole bound cluster-wide that reads Secrets reads every Secret in the
   * cluster. Whoever needs Secrets gets them by a Role in the namespace that holds them.
   */
  "rbac/no-cluster-secrets": (model) =>
    model.applied
      .filter((o) => o.kind === "ClusterRoleBinding" && o.roleRef?.kind === "ClusterRole")
      .flatMap((binding): Array<Issue> => {
        const role = find(model.applied, "ClusterRole", binding.roleRef.name)
        return role && readsSecrets(role)
          ? [
              {
                rule: "rbac/no-cluster-secrets",
                object: idOf(binding),
                message: `binds ClusterRole ${role.metadata.name}, which reads Secrets in every namespace; grant Secrets by a Role in the namespace that holds them`
              }
            ]
          : []
      })
}
