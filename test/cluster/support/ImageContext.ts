/**
 * What a docker_build's context holds, file by file, and what each service runs,
 * derived here from the package manifests (independently of the Tiltfile's own
 * derivation, so the two check each other).
 */
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { stagesOf } from "./DockerfileChecks.ts"
import type { DockerBuild } from "./TiltfileRun.ts"

interface Manifest {
  readonly name: string
  readonly dependencies?: Record<string, string>
}

/** Every workspace directory (packages/*, services/*, as the root package.json's globs say) and its package.json. */
export const workspaces = (root: string): Map<string, Manifest> => {
  const globs = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { workspaces: Array<string> })
    .workspaces
  const found = new Map<string, Manifest>()
  for (const glob of globs) {
    const parent = glob.replace(/\/\*$/, "")
    for (const entry of readdirSync(join(root, parent), { withFileTypes: true })) {
      const manifest = join(root, parent, entry.name, "package.json")
      if (entry.isDirectory() && existsSync(manifest))
        found.set(`${parent}/${entry.name}`, JSON.parse(readFileSync(manifest, "utf8")) as Manifest)
    }
  }
  return found
}

/** The workspace directories a service runs: its own and its @voting/ dependencies, transitively. */
export const runtimeDirs = (root: string, service: string): Array<string> => {
  const all = workspaces(root)
  const dirOf = new Map([...all].map(([dir, manifest]) => [manifest.name, dir]))
  const seen = new Set<string>()
  const visit = (dir: string) => {
    if (seen.has(dir)) return
    seen.add(dir)
    for (const dep of Object.keys(all.get(dir)?.dependencies ?? {}))
      if (dep.startsWith("@voting/")) {
        const depDir = dirOf.get(dep)
        if (!depDir) throw new Error(`${dir} depends on ${dep}, which is no workspace`)
        visit(depDir)
      }
  }
  visit(`services/${service}`)
  return [...seen].sort()
}

/** What npm ci needs in the image: the root manifest, the lockfile and every workspace's package.json. */
export const npmManifests = (root: string): Array<string> => [
  "package.json",
  "package-lock.json",
  ...[...workspaces(root).keys()].map((dir) => `${dir}/package.json`)
]

/** Repository files an image runs besides the workspaces: scripts an ENTRYPOINT or CMD names (the dev supervisor). */
export const imageScripts = (dockerfile: string): Array<string> => {
  const run = stagesOf(dockerfile)
    .flatMap((stage) => stage.lines)
    .filter((l) => /^(CMD|ENTRYPOINT)\s/i.test(l))
    .join(" ")
  return [...new Set(run.match(/scripts\/[\w./-]+\.[cm]?[jt]s/g) ?? [])]
}

const files = new Map<string, Array<string>>()

/** The repository's files as git sees them (tracked, and untracked but not ignored), relative to the root. */
export const repoFiles = (root: string): Array<string> => {
  if (!files.has(root)) {
    const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
      cwd: root,
      encoding: "utf8"
    })
    files.set(root, [...new Set(listed.split("\0"))].filter((f) => f && existsSync(join(root, f))).sort())
  }
  return files.get(root) ?? []
}

/** A dockerignore pattern as a regular expression over a relative path. */
const patternRegExp = (pattern: string) => {
  const body = pattern
    .replace(/^\/+|\/+$/g, "")
    .split("/")
    .map((part) =>
      part === "**"
        ? "(?:.*)"
        : part
            .replace(/[.+^${}()|[\]\\]/g, "\\$&")
            .replaceAll("*", "[^/]*")
            .replaceAll("?", "[^/]")
    )
    .join("/")
    .replaceAll("(?:.*)/", "(?:.*/)?")
  return new RegExp(`^${body}$`)
}

/** Excluded by one of the patterns: the path itself or a directory above it matches (negations are not used here). */
const ignoredBy = (patterns: ReadonlyArray<string>, file: string) => {
  const parts = file.split("/")
  const res = patterns.filter((p) => p && !p.startsWith("!")).map(patternRegExp)
  return parts.some((_, i) => {
    const prefix = parts.slice(0, i + 1).join("/")
    return res.some((re) => re.test(prefix))
  })
}

export const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`)

const dockerignore = (root: string) =>
  existsSync(join(root, ".dockerignore"))
    ? readFileSync(join(root, ".dockerignore"), "utf8")
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith("#"))
    : []

/** Whether a repository file is in the build's context, so that Tilt watches it and sends it to the builder. */
export const inContext = (root: string, build: DockerBuild) => {
  const ignores = [...build.ignore, ...dockerignore(root)]
  return (file: string) =>
    (build.only.length === 0 || build.only.some((o) => under(file, o))) && !ignoredBy(ignores, file)
}

/** A test file: under a directory named test. */
export const isTestFile = (file: string) => file.split("/").slice(0, -1).includes("test")
