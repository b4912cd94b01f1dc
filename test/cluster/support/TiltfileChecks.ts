/** Checks on what the Tiltfile declares, from its run against the stand-ins, and its syntax (buildifier). */
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import type { ClusterModel } from "./ClusterModel.ts"
import { withTiltfile } from "./ClusterModel.ts"
import { stagesOf } from "./DockerfileChecks.ts"
import { imageScripts, inContext, isTestFile, npmManifests, repoFiles, runtimeDirs, under } from "./ImageContext.ts"
import { type Issue, isWorkload } from "./Objects.ts"
import { observabilityNamespace } from "./RuleKit.ts"

type Check = (model: ClusterModel) => Array<Issue>
const issue = (rule: string, object: string, message: string): Issue => ({ rule, object, message })

const require = createRequire(import.meta.url)

/** The buildifier binary that @bazel/buildifier ships for this platform. */
export const buildifierPath = (): string => {
  const dir = dirname(require.resolve("@bazel/buildifier/package.json"))
  const arch = process.arch === "x64" ? "amd64" : process.arch
  const os = process.platform === "win32" ? "windows" : process.platform
  const binary = join(dir, `buildifier-${os}_${arch}${os === "windows" ? ".exe" : ""}`)
  if (!existsSync(binary)) throw new Error(`@bazel/buildifier has no binary for ${os}/${arch} (looked for ${binary})`)
  return binary
}

/** Starlark syntax, formatting and lint (the module docstring warning aside: the Tiltfile opens with comments). */
export const checkTiltfileSyntax = (text: string): Array<Issue> =>
  withTiltfile(text, (path) => {
    try {
      execFileSync(
        buildifierPath(),
        ["--mode=check", "--lint=warn", "--warnings=-module-docstring", "--type=default", path],
        {
          stdio: "pipe",
          encoding: "utf8"
        }
      )
      return []
    } catch (error) {
      const e = error as { stderr?: string; stdout?: string }
      const output = `${e.stderr ?? ""}${e.stdout ?? ""}`.replaceAll(path, "Tiltfile").trim()
      return [issue("tilt/syntax", "Tiltfile", output || "buildifier failed")]
    }
  })

/** What a resource selector like "name:kind[:namespace]" picks out of the applied objects. */
const selectObjects = (model: ClusterModel, selector: string) => {
  const [name, kind, namespace] = selector.split(":")
  return model.applied.filter(
    (o) =>
      o.metadata?.name === name &&
      (kind === undefined || o.kind.toLowerCase() === kind.toLowerCase()) &&
      (namespace === undefined || o.metadata?.namespace === namespace)
  )
}

const resourceNames = (model: ClusterModel) => [
  ...model.tilt.k8s_resources.map((r) => r.new_name || r.workload),
  ...model.tilt.local_resources.map((r) => r.name),
  ...model.applied.filter(isWorkload).map((o) => o.metadata.name)
]

export const tiltfileChecks: Record<string, Check> = {
  "tilt/load-error": (model) =>
    model.tilt.error
      ? [
          issue(
            "tilt/load-error",
            `Tiltfile:${model.tilt.error.line ?? "?"}`,
            `${model.tilt.error.type}: ${model.tilt.error.message}`
          )
        ]
      : [],

  "tilt/api-use": (model) => model.tilt.problems.map((p) => issue("tilt/api-use", "Tiltfile", p)),

  "tilt/resources": (model) => {
    const problems: Array<Issue> = []
    const workloads = new Set(model.applied.filter(isWorkload).map((o) => o.metadata.name))
    const claimed = new Map<string, string>()
    for (const r of model.tilt.k8s_resources) {
      const name = r.new_name || r.workload
      if (r.workload && !workloads.has(r.workload))
        problems.push(issue("tilt/resources", `k8s_resource ${name}`, `no workload named ${r.workload}`))
      for (const selector of r.objects) {
        const matched = selectObjects(model, selector)
        if (matched.length !== 1) {
          problems.push(
            issue(
              "tilt/resources",
              `k8s_resource ${name}`,
              `object selector ${selector} matches ${matched.length} objects, not 1`
            )
          )
          continue
        }
        const key = JSON.stringify(matched[0]?.metadata) + matched[0]?.kind
        if (claimed.has(key))
          problems.push(
            issue("tilt/resources", `k8s_resource ${name}`, `${selector} is already in ${claimed.get(key)}`)
          )
        claimed.set(key, name)
      }
    }
    const known = new Set(resourceNames(model))
    for (const r of [...model.tilt.k8s_resources, ...model.tilt.local_resources]) {
      const name = "name" in r ? r.name : r.new_name || r.workload
      for (const dep of r.resource_deps)
        if (!known.has(dep))
          problems.push(issue("tilt/resources", `resource ${name}`, `resource_deps names ${dep}, which is no resource`))
    }
    return problems
  },

  "tilt/dependencies": (model) => {
    const worker = model.tilt.k8s_resources.find((r) => r.workload === "worker")
    const missing = ["postgres", "redis"].filter((d) => !worker?.resource_deps.includes(d))
    return missing.length === 0
      ? []
      : [issue("tilt/dependencies", "k8s_resource worker", `must start after ${missing.join(" and ")}`)]
  },

  "tilt/links": (model) =>
    (
      [
        ["vote", "https://vote.localhost"],
        ["result", "https://result.localhost"]
      ] as const
    ).flatMap(([workload, url]) => {
      const r = model.tilt.k8s_resources.find((k) => k.workload === workload)
      return r?.links.some((l) => l.url === url) && r.labels.length > 0
        ? []
        : [issue("tilt/links", `k8s_resource ${workload}`, `needs a label and a link to ${url}`)]
    }),

  /**
   * `tilt up -- --observability` switches the stack on, and nothing of it runs
   * without the flag: no object in its namespace, no span export, no resource.
   * With it, each UI is a resource with a label, a port forward and a *.localhost link.
   */
  "tilt/observability": (model) => {
    const problems: Array<Issue> = []
    const flag = model.tilt.config.settings.observability
    if (flag?.type !== "bool" || flag.args)
      problems.push(issue("tilt/observability", "Tiltfile", 'config.define_bool("observability") must define the flag'))
    if (model.tilt.config.parsed === null)
      problems.push(issue("tilt/observability", "Tiltfile", "config.parse() must be called to read the flag"))
    const config = model.applied.find((o) => o.kind === "ConfigMap" && o.metadata.name === "voting-config")?.data ?? {}
    const exports = "OTEL_EXPORTER_OTLP_ENDPOINT" in config
    const stack = model.applied.filter((o) => o.metadata?.namespace === observabilityNamespace)
    const uis = [
      ["jaeger", 16686, "http://jaeger.localhost:16686"],
      ["prometheus", 9090, "http://prometheus.localhost:19090"],
      ["grafana", 3000, "http://grafana.localhost:13000"]
    ] as const
    if (!model.observability) {
      if (stack.length > 0)
        problems.push(
          issue(
            "tilt/observability",
            "Tiltfile",
            `without the flag it applies ${stack.length} objects in ${observabilityNamespace}`
          )
        )
      if (exports)
        problems.push(
          issue("tilt/observability", "ConfigMap/voting-config", "without the flag the services still export spans")
        )
      for (const [name] of uis)
        if (model.tilt.k8s_resources.some((r) => r.workload === name))
          problems.push(issue("tilt/observability", `k8s_resource ${name}`, "declared without the flag"))
      return problems
    }
    if (!exports)
      problems.push(
        issue(
          "tilt/observability",
          "ConfigMap/voting-config",
          "with the flag the services must get OTEL_EXPORTER_OTLP_ENDPOINT"
        )
      )
    for (const [name, port, url] of uis) {
      const r = model.tilt.k8s_resources.find((k) => k.workload === name)
      if (!r) {
        problems.push(issue("tilt/observability", `k8s_resource ${name}`, "missing with the flag on"))
        continue
      }
      if (!r.links.some((l) => l.url.startsWith(url)))
        problems.push(issue("tilt/observability", `k8s_resource ${name}`, `needs a link to ${url}`))
      if (!r.port_forwards.some((p) => p.endsWith(`:${port}`) && url.includes(`:${p.split(":")[0]}`)))
        problems.push(
          issue("tilt/observability", `k8s_resource ${name}`, `needs a port forward of ${url}'s port to ${port}`)
        )
      if (r.labels.length === 0) problems.push(issue("tilt/observability", `k8s_resource ${name}`, "needs a label"))
    }
    return problems
  },

  "tilt/live-update": (model) =>
    model.tilt.docker_builds.flatMap((b) => {
      const problems: Array<string> = []
      const fallBack = b.live_update.flatMap((s) => (s.step === "fall_back_on" ? s.files : []))
      const syncs = b.live_update.flatMap((s) => (s.step === "sync" ? [s] : []))
      const service = b.build_args.SERVICE
      if (b.target !== "dev") problems.push("must build the dev target")
      else if (!stagesOf(model.dockerfile).some((stage) => stage.name === b.target))
        problems.push(`target ${b.target} is not a stage of the Dockerfile`)
      if (!service || !existsSync(join(model.root, "services", service)))
        problems.push(`build arg SERVICE=${service} names no directory under services/`)
      if (!fallBack.includes("package-lock.json")) problems.push("fall_back_on must include package-lock.json")
      for (const f of fallBack)
        if (!existsSync(join(model.root, f))) problems.push(`fall_back_on names ${f}, which does not exist`)
      if (service && existsSync(join(model.root, "services", service)))
        for (const dir of runtimeDirs(model.root, service))
          if (!syncs.some((s) => under(dir, s.local_path))) problems.push(`does not sync ${dir}, which ${service} runs`)
      for (const s of syncs) {
        if (!existsSync(join(model.root, s.local_path))) problems.push(`syncs ${s.local_path}, which does not exist`)
        if (s.remote_path !== `/app/${s.local_path}`)
          problems.push(`syncs ${s.local_path} to ${s.remote_path}, not to /app/${s.local_path} where the image has it`)
      }
      // The image's own supervisor restarts node on a synced change; a step here would restart it twice.
      for (const step of b.live_update)
        if (step.step === "run" || step.step === "restart_container")
          problems.push(`has a ${step.step} step; the dev image restarts the service itself on every synced file`)
      return problems.map((p) => issue("tilt/live-update", `docker_build ${b.ref}`, p))
    }),

  /**
   * Each image's context is what its service runs and what npm ci needs, nothing
   * more: Tilt watches every file in it, and one that no sync covers rebuilds the image.
   */
  "tilt/image-context": (model) =>
    model.tilt.docker_builds.flatMap((b) => {
      const service = b.build_args.SERVICE
      if (!service || !existsSync(join(model.root, "services", service))) return []
      const problems: Array<string> = []
      const fallBack = b.live_update.flatMap((s) => (s.step === "fall_back_on" ? s.files : []))
      const syncs = b.live_update.flatMap((s) => (s.step === "sync" ? [s.local_path] : []))
      const rebuildsOn = (path: string) => fallBack.some((f) => under(path, f))
      const synced = (path: string) => syncs.some((s) => under(path, s))
      const context = inContext(model.root, b)
      const runs = runtimeDirs(model.root, service)
      const npm = npmManifests(model.root)
      const supervisor = imageScripts(model.dockerfile)
      // The Dockerfile is read by the Tiltfile, not watched by the image.
      const needed = (f: string) =>
        f === b.dockerfile || npm.includes(f) || supervisor.includes(f) || runs.some((d) => under(f, d))
      const sample = (fs: Array<string>) =>
        `${fs.slice(0, 3).join(", ")}${fs.length > 3 ? `, and ${fs.length - 3} more` : ""}`
      if (b.context !== ".") problems.push(`context ${b.context}: the Dockerfile expects the repository root`)
      if (b.only.length === 0) problems.push("has no `only`: every file of the repository is in its context")
      for (const f of [...npm, ...supervisor]) {
        if (!context(f))
          problems.push(
            `${f} is not in the context (${npm.includes(f) ? "npm ci needs it" : "the dev target runs it"})`
          )
        else if (!rebuildsOn(f)) problems.push(`${f} is not in fall_back_on: a change to it needs a new image`)
      }
      const files = repoFiles(model.root)
      for (const dir of runs) {
        const missing = files.filter(
          (f) => under(f, dir) && !isTestFile(f) && !npm.includes(f) && !(context(f) && synced(f))
        )
        if (missing.length > 0)
          problems.push(
            `${missing.length} files of ${dir}, which ${service} runs, are not in the context and synced: ${sample(missing)}`
          )
      }
      for (const o of b.only)
        if (!synced(o) && !rebuildsOn(o))
          problems.push(
            `only names ${o}, which is neither synced nor in fall_back_on: an edit there rebuilds the image`
          )
      for (const s of syncs)
        if (!files.some((f) => under(f, s) && context(f))) problems.push(`syncs ${s}, which is outside the context`)
      const inside = files.filter(context)
      const extra = inside.filter((f) => !needed(f))
      const byDir = new Map<string, Array<string>>()
      for (const f of extra) {
        const dir = f
          .split("/")
          .slice(0, f.startsWith("services/") || f.startsWith("packages/") ? 2 : 1)
          .join("/")
        byDir.set(dir, [...(byDir.get(dir) ?? []), f])
      }
      for (const [dir, fs] of byDir)
        problems.push(
          `${dir === fs[0] ? dir : `${dir}/`} is in the context, but ${service} does not run it: an edit there rebuilds the image (${sample(fs)})`
        )
      const tests = inside.filter(isTestFile)
      if (tests.length > 0) problems.push(`test files are in the context: ${sample(tests)}`)
      return problems.map((p) => issue("tilt/image-context", `docker_build ${b.ref}`, p))
    }),

  "tilt/ci-settings": (model) =>
    model.tilt.ci_settings && "timeout" in model.tilt.ci_settings
      ? [
          issue(
            "tilt/ci-settings",
            "Tiltfile",
            `ci_settings(timeout = "${model.tilt.ci_settings.timeout}") overrides \`tilt ci --timeout\`; leave the timeout to the command line`
          )
        ]
      : [],

  /** The stand-ins read every .dev/ file as a placeholder: one in a command, env or build arg is a secret in Tilt's API. */
  "tilt/no-secret-in-api": (model) => {
    const secret = /<generated:(\.dev\/credentials\/[^>]+)>/
    const found: Array<Issue> = []
    const check = (object: string, where: string, text: string) => {
      const match = secret.exec(text)
      if (match)
        found.push(
          issue(
            "tilt/no-secret-in-api",
            object,
            `${where} holds the contents of ${match[1]}, which Tilt's API and UI show; let the command read the file when it runs`
          )
        )
    }
    for (const r of model.tilt.local_resources) {
      check(`local_resource ${r.name}`, "cmd", String(r.cmd))
      for (const [key, value] of Object.entries(r.env ?? {}))
        check(`local_resource ${r.name}`, `env ${key}`, String(value))
    }
    for (const b of model.tilt.docker_builds)
      for (const [key, value] of Object.entries(b.build_args))
        check(`docker_build ${b.ref}`, `build arg ${key}`, String(value))
    return found
  },

  "tilt/generated-files": (model) =>
    model.tilt.files_read
      .filter((f) => !existsSync(join(model.root, f)) || f.startsWith(".dev/"))
      .flatMap((f) => {
        const dir = f.split("/").slice(0, -1).join("/")
        if (!f.startsWith(".dev/"))
          return [
            issue(
              "tilt/generated-files",
              "Tiltfile",
              `reads ${f}, which does not exist and is not generated under .dev/`
            )
          ]
        return model.tilt.local_commands.some((c) => c.includes(dir))
          ? []
          : [issue("tilt/generated-files", "Tiltfile", `reads ${f}, but no local() command makes ${dir}`)]
      }),

  "tilt/context": (model) => {
    const cluster = model.ctlptl.find((d) => (d as { kind?: string })?.kind === "Cluster") as
      | { name?: string }
      | undefined
    return cluster?.name && model.tilt.allowed_contexts.includes(cluster.name)
      ? []
      : [issue("tilt/context", "Tiltfile", `allow_k8s_contexts must name ctlptl.yaml's cluster (${cluster?.name})`)]
  },

  "tilt/local-resources": (model) => {
    const problems: Array<Issue> = []
    const tests = model.tilt.local_resources.find((r) => /\bnpm run test:unit\b/.test(String(r.cmd)))
    if (!tests)
      problems.push(
        issue("tilt/local-resources", "Tiltfile", "no local_resource runs the fast suite (npm run test:unit)")
      )
    else {
      const missing = ["packages", "services", "test/cluster", "test/support", "vitest.config.ts"].filter(
        (d) => !tests.deps.includes(d)
      )
      if (missing.length > 0)
        problems.push(
          issue(
            "tilt/local-resources",
            `local_resource ${tests.name}`,
            `deps must cover what it runs: ${missing.join(", ")}`
          )
        )
    }
    for (const r of model.tilt.local_resources)
      if (/\bnpm (run )?test(\s|$|;|&)/.test(String(r.cmd)))
        problems.push(
          issue(
            "tilt/local-resources",
            `local_resource ${r.name}`,
            "runs the whole npm test (system suites, minutes); the dev loop runs npm run test:unit"
          )
        )
    const burst = model.tilt.local_resources.find((r) => String(r.cmd).includes("scripts/castVotes.ts"))
    if (!burst)
      problems.push(
        issue("tilt/local-resources", "Tiltfile", "no local_resource casts a burst of votes (scripts/castVotes.ts)")
      )
    else if (burst.trigger_mode !== "manual" || burst.auto_init)
      problems.push(
        issue(
          "tilt/local-resources",
          `local_resource ${burst.name}`,
          "the vote burst must be a manual button (TRIGGER_MODE_MANUAL, auto_init=False)"
        )
      )
    for (const r of model.tilt.local_resources)
      for (const d of r.deps)
        if (!existsSync(join(model.root, d)))
          problems.push(
            issue("tilt/local-resources", `local_resource ${r.name}`, `deps names ${d}, which does not exist`)
          )
    return problems
  }
}

export const runTiltfileChecks = (model: ClusterModel): Array<Issue> =>
  model.tilt.error
    ? (tiltfileChecks["tilt/load-error"]?.(model) ?? [])
    : Object.values(tiltfileChecks).flatMap((c) => c(model))

export const servicesOnDisk = (root: string) => readdirSync(join(root, "services"))
