/** The real configuration passes every check, and nothing secret is committed. */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { dirname, join, normalize } from "node:path"
import { describe, expect, it } from "vitest"
import { runAllChecks } from "./support/Checks.ts"
import { loadModel, observabilityArgs, repoRoot } from "./support/ClusterModel.ts"
import { allowedFlows, expectedFlows } from "./support/CrossChecks.ts"
import { isTestFile, repoFiles, under, workspaces } from "./support/ImageContext.ts"

describe("the repository's cluster configuration", () => {
  it("passes every rule and cross-check", async () => {
    expect(await runAllChecks(loadModel())).toEqual([])
  })

  it("passes every rule and cross-check with the observability stack on (tilt up -- --observability)", async () => {
    const model = loadModel({ tiltArgs: observabilityArgs })
    expect(model.observability).toBe(true)
    expect(await runAllChecks(model)).toEqual([])
  })

  it("allows exactly the flows the architecture needs", () => {
    expect(allowedFlows(loadModel().applied)).toEqual(expectedFlows({ observability: false }))
  })

  it("with the observability stack, allows exactly those flows plus spans to Jaeger, scrapes and Grafana's queries", () => {
    const flows = allowedFlows(loadModel({ tiltArgs: observabilityArgs }).applied)
    expect(flows).toEqual(expectedFlows({ observability: true }))
    expect(flows).toContain("vote -> observability/jaeger:4318")
    expect(flows).toContain("observability/prometheus -> worker:9082")
  })

  it("the Tiltfile declares one dev-target build per service, in dependency order", () => {
    const { tilt } = loadModel()
    expect(tilt.error).toBeUndefined()
    expect(tilt.docker_builds.map((b) => [b.ref, b.target, b.build_args.SERVICE])).toEqual([
      ["voting/vote", "dev", "vote"],
      ["voting/result", "dev", "result"],
      ["voting/worker", "dev", "worker"]
    ])
    expect(tilt.k8s_resources.find((r) => r.workload === "worker")?.resource_deps).toEqual(["postgres", "redis"])
  })

  it("each image's sync set, derived from package.json, covers what the service imports", () => {
    // Every @voting/ import is a declared dependency, and no source reaches outside its
    // workspace, so the workspaces a package.json names are all a service runs.
    const all = workspaces(repoRoot)
    const problems: Array<string> = []
    for (const [dir, manifest] of all) {
      const declared = new Set(Object.keys(manifest.dependencies ?? {}))
      const sources = repoFiles(repoRoot).filter((f) => under(f, dir) && !isTestFile(f) && /\.(ts|mts|js|mjs)$/.test(f))
      for (const file of sources) {
        const text = readFileSync(join(repoRoot, file), "utf8")
        for (const [, spec] of text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
          if (spec === undefined) continue
          const name = /^@voting\/[^/]+/.exec(spec)?.[0]
          if (name && !declared.has(name)) problems.push(`${file} imports ${name}, not in ${dir}/package.json`)
          if (spec.startsWith(".") && !under(normalize(join(dirname(file), spec)), dir))
            problems.push(`${file} imports ${spec}, outside ${dir}`)
        }
      }
    }
    expect(problems).toEqual([])
  })

  it("the cluster workflow names only paths that exist", () => {
    const workflow = readFileSync(join(repoRoot, ".github/workflows/cluster.yml"), "utf8")
    const paths = [...workflow.matchAll(/(?<![\w./-])((?:manifests|scripts|services|packages)\/[\w./-]*\w)/g)].map(
      (m) => m[1] as string
    )
    expect(paths.length).toBeGreaterThan(3)
    expect(paths.filter((p) => !existsSync(join(repoRoot, p)))).toEqual([])
  })

  it("keeps generated credentials and keys out of git", () => {
    expect(readFileSync(join(repoRoot, ".gitignore"), "utf8").split("\n")).toContain(".dev/")
    const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: repoRoot, encoding: "utf8" })
      .split("\0")
      .filter(Boolean)
    expect(tracked.filter((f) => f.startsWith(".dev/"))).toEqual([])
    // git grep exits 1 when nothing matches, which is the outcome wanted here.
    const grep = spawnSync("git", ["grep", "-l", "-I", "-E", "BEGIN [A-Z ]*PRIVATE KEY", "--", "."], {
      cwd: repoRoot,
      encoding: "utf8"
    })
    expect(grep.status === 0 || grep.status === 1, grep.stderr).toBe(true)
    const withKeys = grep.stdout.split("\n").filter((f) => f && !f.startsWith("test/cluster/"))
    expect(withKeys).toEqual([])
  })
})
