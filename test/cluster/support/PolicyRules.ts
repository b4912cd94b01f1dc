/**
 * The good practices the manifests are meant to teach, as rules. Each rule has
 * an id; a finding names the rule, the object and what is wrong.
 *
 * The rules live in one file per family; this list registers them. A new family
 * is a file exporting a RuleFamily, one import and one entry in `ruleFamilies`.
 */
import type { ClusterModel } from "./ClusterModel.ts"
import { ingressRules } from "./IngressRules.ts"
import { managementRules } from "./ManagementRules.ts"
import { networkPolicyRules } from "./NetworkPolicyRules.ts"
import type { Issue } from "./Objects.ts"
import { podRules } from "./PodRules.ts"
import { rbacRules } from "./RbacRules.ts"
import type { Rule, RuleFamily } from "./RuleKit.ts"
import { statefulSetRules } from "./StatefulSetRules.ts"
import { storeRules } from "./StoreRules.ts"
import { workloadRules } from "./WorkloadRules.ts"

export {
  appNamespace,
  builtImages,
  controllerNamespace,
  envValue,
  imageRepo,
  managementPortName,
  managementPortOf,
  observabilityNamespace,
  resolvePort,
  serviceDrainSeconds
} from "./RuleKit.ts"

/** Every family of policy rules, in the order they run. */
const ruleFamilies: ReadonlyArray<RuleFamily> = [
  podRules,
  rbacRules,
  workloadRules,
  networkPolicyRules,
  statefulSetRules,
  storeRules,
  ingressRules,
  managementRules
]

/** All rules by id; an id registered twice is a mistake, refused at load. */
export const policyRules: Record<string, Rule> = ruleFamilies.reduce<Record<string, Rule>>((all, family) => {
  for (const [id, rule] of Object.entries(family)) {
    if (id in all) throw new Error(`policy rule ${id} is registered twice`)
    all[id] = rule
  }
  return all
}, {})

export const runPolicyRules = (model: ClusterModel): Array<Issue> =>
  Object.values(policyRules).flatMap((rule) => rule(model))
