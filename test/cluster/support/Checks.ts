/** Every offline check, run over one model. */
import type { ClusterModel } from "./ClusterModel.ts"
import { runCrossChecks } from "./CrossChecks.ts"
import { runCtlptlChecks } from "./CtlptlChecks.ts"
import { runDockerfileChecks } from "./DockerfileChecks.ts"
import type { Issue, K8sObject } from "./Objects.ts"
import { runPolicyRules } from "./PolicyRules.ts"
import { validateAll } from "./SchemaValidation.ts"
import { checkTiltfileSyntax, runTiltfileChecks } from "./TiltfileChecks.ts"

/**
 * `schemaFor` limits schema validation to some objects: a fixture's edited ones
 * (the rest are the real objects, validated once on their own).
 */
export const runAllChecks = async (
  model: ClusterModel,
  schemaFor?: ReadonlyArray<K8sObject>
): Promise<Array<Issue>> => {
  const tilt = [...checkTiltfileSyntax(model.tiltfile), ...runTiltfileChecks(model)]
  // A Tiltfile that does not load declares nothing to check the manifests against.
  if (model.tilt.error) return tilt
  return [
    ...(await validateAll(schemaFor ?? [...model.production, ...model.applied])).filter(uniqueBy()),
    ...runPolicyRules(model),
    ...runCrossChecks(model),
    ...tilt,
    ...runCtlptlChecks(model),
    ...runDockerfileChecks(model)
  ]
}

const uniqueBy = () => {
  const seen = new Set<string>()
  return (i: Issue) => {
    const key = `${i.rule}|${i.object}|${i.message}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  }
}
