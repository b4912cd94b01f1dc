/** NetworkPolicies: deny by default, and every pod selected by a policy of its own, in each namespace the manifests own. */
import type { ClusterModel } from "./ClusterModel.ts"
import { idOf, matchesLabels, podTemplateOf } from "./Objects.ts"
import { appNamespace, ownNamespaces, type RuleFamily } from "./RuleKit.ts"

/** The app's namespace always; the observability stack's whenever anything of it is applied. */
const namespacesIn = (model: ClusterModel) =>
  ownNamespaces.filter((name) => name === appNamespace || model.applied.some((o) => o.metadata?.namespace === name))

export const networkPolicyRules: RuleFamily = {
  "network-policy/default-deny": (model) =>
    namespacesIn(model).flatMap((namespace) => {
      const deny = model.applied.find(
        (o) =>
          o.kind === "NetworkPolicy" &&
          o.metadata?.namespace === namespace &&
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
              object: `Namespace/${namespace}`,
              message: "no default-deny policy for Ingress and Egress"
            }
          ]
    }),

  "network-policy/coverage": (model) =>
    namespacesIn(model).flatMap((namespace) => {
      const policies = model.applied.filter(
        (o) =>
          o.kind === "NetworkPolicy" &&
          o.metadata?.namespace === namespace &&
          Object.keys(o.spec?.podSelector?.matchLabels ?? {}).length > 0
      )
      return model.applied
        .filter((o) => podTemplateOf(o) && o.metadata?.namespace === namespace)
        .filter(
          (w) =>
            !policies.some((p) => matchesLabels(p.spec.podSelector.matchLabels, podTemplateOf(w)?.metadata?.labels))
        )
        .map((w) => ({
          rule: "network-policy/coverage",
          object: idOf(w),
          message: "no NetworkPolicy selects its pods"
        }))
    })
}
