/** Runs a Tiltfile against the stand-ins in tilt_standins.py and resolves what it would apply. */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { kustomize } from "./Kubectl.ts"
import { type K8sObject, parseYamlStream } from "./Objects.ts"

export type LiveUpdateStep =
  | { readonly step: "fall_back_on"; readonly files: Array<string> }
  | { readonly step: "sync"; readonly local_path: string; readonly remote_path: string }
  | { readonly step: "run"; readonly cmd: string | Array<string>; readonly trigger: Array<string> }
  | { readonly step: "restart_container" | "initial_sync" }

export interface DockerBuild {
  readonly ref: string
  readonly context: string
  readonly dockerfile: string
  readonly target: string
  readonly build_args: Record<string, string>
  /** The build context is these paths (a directory with all under it), less `ignore` and the .dockerignore. */
  readonly only: Array<string>
  readonly ignore: Array<string>
  readonly live_update: Array<LiveUpdateStep>
}

export interface K8sResource {
  readonly workload: string
  readonly new_name: string
  readonly objects: Array<string>
  readonly resource_deps: Array<string>
  readonly links: Array<{ url: string; name: string | null }>
  readonly labels: Array<string>
  readonly port_forwards: Array<string>
}

export interface LocalResource {
  readonly name: string
  readonly cmd: string | Array<string>
  readonly deps: Array<string>
  readonly resource_deps: Array<string>
  readonly auto_init: boolean
  readonly trigger_mode: "auto" | "manual"
  readonly labels: Array<string>
  readonly env: Record<string, string>
  readonly ignore: Array<string>
  readonly links: Array<{ url: string; name: string | null }>
}

export interface LocalCall {
  readonly command: string
  readonly quiet: boolean
  readonly echo_off: boolean
}

export type YamlEntry = { kustomize: string; flags: Array<string> } | { file: string } | { text: string }

export interface TiltDeclarations {
  readonly docker_builds: Array<DockerBuild>
  readonly k8s_yaml: Array<YamlEntry>
  readonly k8s_resources: Array<K8sResource>
  readonly local_resources: Array<LocalResource>
  readonly local_commands: Array<string>
  readonly local_calls: Array<LocalCall>
  readonly files_read: Array<string>
  readonly allowed_contexts: Array<string>
  /** The arguments ci_settings() was given, if it was called. */
  readonly ci_settings: Record<string, string> | null
  /** The config settings the Tiltfile defines, what config.parse() returned (null if not called) and the resources it enabled. */
  readonly config: {
    readonly settings: Record<string, { type: "bool" | "string" | "string_list"; args: boolean; usage: string }>
    readonly parsed: Record<string, unknown> | null
    readonly enabled_resources: Array<string> | null
  }
  readonly problems: Array<string>
  readonly error?: { type: string; message: string; line: number | null }
}

const standins = join(import.meta.dirname, "tilt_standins.py")

/** `args` are what follows `--` on Tilt's command line (`tilt up -- --observability`). */
export const runTiltfile = (
  tiltfile: string,
  root: string,
  subcommand = "up",
  args: ReadonlyArray<string> = []
): TiltDeclarations => {
  let out: string
  try {
    out = execFileSync("python3", [standins, tiltfile, root, subcommand, "--", ...args], {
      encoding: "utf8",
      stdio: "pipe"
    })
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error)
    throw new Error(`the Tilt stand-ins could not run (python3 3.8+ is needed): ${stderr.trim()}`)
  }
  return JSON.parse(out) as TiltDeclarations
}

const rendered = new Map<string, Array<K8sObject>>()

/** The objects the Tiltfile hands to Kubernetes, in order (kustomize output is cached per directory). */
export const objectsApplied = (declared: TiltDeclarations, root: string): Array<K8sObject> =>
  declared.k8s_yaml.flatMap((entry) => {
    if ("kustomize" in entry) {
      const dir = join(root, entry.kustomize)
      if (!rendered.has(dir)) rendered.set(dir, kustomize(dir))
      return structuredClone(rendered.get(dir) ?? [])
    }
    if ("file" in entry) return parseYamlStream(readFileSync(join(root, entry.file), "utf8"), entry.file)
    return parseYamlStream(entry.text, "a YAML blob from the Tiltfile")
  })
