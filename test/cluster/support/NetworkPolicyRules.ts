/** NetworkPolicies: deny by default, and every pod selected by a policy of its own. */
import { idOf, matchesLabels, podTemplateOf } from "./Objects.ts"
import { appNamespace, inApp, type RuleFamily } from "./RuleKit.ts"

export const networkPolicyRules: RuleFamily = {
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
  }
}
