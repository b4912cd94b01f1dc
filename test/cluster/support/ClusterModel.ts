/** Everything the offline checks look at, loaded once: rendered manifests, the Tiltfile's declarations, the Dockerfile, ctlptl.yaml. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parse, parseAllDocuments } from "yaml"
import { kustomize } from "./Kubectl.ts"
import type { K8sObject } from "./Objects.ts"
import { objectsApplied, runTiltfile, type TiltDeclarations } from "./TiltfileRun.ts"

export const repoRoot = resolve(import.meta.dirname, "../../..")

export interface ClusterModel {
  readonly root: string
  /** `kubectl kustomize manifests`: the app as production runs it. */
  readonly production: Array<K8sObject>
  /** What the Tiltfile applies, in order: Traefik, the dev Secrets, manifests/dev. */
  readonly applied: Array<K8sObject>
  readonly tilt: TiltDeclarations
  readonly tiltfile: string
  /** What followed `--` on Tilt's command line for this model (`--observability`, or nothing). */
  readonly tiltArgs: Array<string>
  /** Whether the Tiltfile ran with the observability stack switched on. */
  readonly observability: boolean
  readonly dockerfile: string
  readonly ctlptl: Array<unknown>
}

let production: Array<K8sObject> | undefined
const loaded = new Map<string, ClusterModel>()

/** Tilt's args for the dev loop with the observability stack: `tilt up -- --observability`. */
export const observabilityArgs: ReadonlyArray<string> = ["--observability"]

/** The model, loaded once per Tiltfile text and args; each call gets its own copy to change. */
export const loadModel = (
  options: { readonly tiltfileText?: string; readonly tiltArgs?: ReadonlyArray<string> } = {}
): ClusterModel => {
  const tiltfile = options.tiltfileText ?? readFileSync(join(repoRoot, "Tiltfile"), "utf8")
  const args = [...(options.tiltArgs ?? [])]
  const key = `${JSON.stringify(args)}\n${tiltfile}`
  if (!loaded.has(key)) loaded.set(key, readModel(tiltfile, args))
  return structuredClone(loaded.get(key) as ClusterModel)
}

const readModel = (tiltfile: string, tiltArgs: Array<string>): ClusterModel => {
  const root = repoRoot
  production ??= kustomize(join(root, "manifests"))
  const tilt = withTiltfile(tiltfile, (path) => runTiltfile(path, root, "up", tiltArgs))
  return {
    root,
    production: structuredClone(production),
    applied: tilt.error ? [] : objectsApplied(tilt, root),
    tilt,
    tiltfile,
    tiltArgs,
    observability: tilt.config?.parsed?.observability === true,
    dockerfile: readFileSync(join(root, "Dockerfile"), "utf8"),
    ctlptl: parseAllDocuments(readFileSync(join(root, "ctlptl.yaml"), "utf8")).map((d) => d.toJS())
  }
}

/** The Tiltfile text in a scratch file; paths inside it still resolve against the repository. */
export const withTiltfile = <A>(text: string, use: (path: string) => A): A => {
  const dir = mkdtempSync(join(tmpdir(), "tiltfile-"))
  try {
    const path = join(dir, "Tiltfile")
    writeFileSync(path, text)
    return use(path)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export const parseYaml = (text: string): unknown => parse(text)
