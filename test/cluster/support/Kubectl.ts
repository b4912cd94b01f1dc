/** Renders kustomizations with the kubectl on this machine (kustomize is built in). */
import { execFileSync } from "node:child_process"
import { type K8sObject, parseYamlStream } from "./Objects.ts"

let checked = false

export const requireKubectl = (): void => {
  if (checked) return
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "pipe" })
    checked = true
  } catch {
    throw new Error(
      "kubectl is needed to render the kustomizations (kubectl kustomize) but was not found on PATH; install kubectl 1.27 or newer"
    )
  }
}

/** `kubectl kustomize DIR`; throws with kustomize's own message when the build fails. */
export const kustomize = (dir: string): Array<K8sObject> => {
  requireKubectl()
  try {
    const out = execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
    return parseYamlStream(out, dir)
  } catch (error) {
    const stderr = (error as { stderr?: Buffer | string }).stderr?.toString() ?? String(error)
    throw new Error(`kustomize build of ${dir} failed: ${stderr.trim()}`)
  }
}
