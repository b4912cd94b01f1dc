/** The Dockerfile's targets, pinned bases, non-root user and PID 1. */
import type { ClusterModel } from "./ClusterModel.ts"
import type { Issue } from "./Objects.ts"

interface Stage {
  readonly from: string
  readonly name: string | undefined
  readonly lines: Array<string>
}

/** Stages in order, with their instructions (continuation lines joined, comments dropped). */
export const stagesOf = (dockerfile: string): Array<Stage> => {
  const instructions = dockerfile
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith("#"))
  const stages: Array<Stage> = []
  for (const line of instructions) {
    const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line)
    if (from) stages.push({ from: from[1] ?? "", name: from[2]?.toLowerCase(), lines: [] })
    else stages.at(-1)?.lines.push(line)
  }
  return stages
}

const issue = (rule: string, message: string): Issue => ({ rule, object: "Dockerfile", message })

export const runDockerfileChecks = (model: ClusterModel): Array<Issue> => {
  const stages = stagesOf(model.dockerfile)
  const names = new Set(stages.map((s) => s.name))
  const problems: Array<Issue> = []
  for (const s of stages) {
    if (names.has(s.from.toLowerCase())) continue
    const tag = /:([^/:@]+)(@sha256:[0-9a-f]{64})?$/.exec(s.from)?.[1]
    if (!tag) problems.push(issue("dockerfile/pinned-base", `FROM ${s.from} has no tag`))
    else if (tag === "latest" || !/\d/.test(`${s.from}`.split("/").at(-1) ?? ""))
      problems.push(issue("dockerfile/pinned-base", `FROM ${s.from} is not pinned to a version`))
  }
  const dev = stages.find((s) => s.name === "dev")
  const production = stages.find((s) => s.name === "production")
  if (!dev || !production) problems.push(issue("dockerfile/targets", "needs a dev and a production stage"))
  if (production && stages.at(-1) !== production)
    problems.push(issue("dockerfile/targets", "production must be the last stage, so a plain `docker build` makes it"))
  const chain = (s: Stage | undefined): Array<Stage> => {
    const parent = s ? stages.find((p) => p.name === s.from.toLowerCase()) : undefined
    return s ? [s, ...chain(parent)] : []
  }
  for (const target of [dev, production].filter((s) => s !== undefined)) {
    const lines = chain(target).flatMap((s) => [...s.lines].reverse())
    const user = lines.find((l) => /^USER\s/i.test(l))?.split(/\s+/)[1]
    if (!user || /^(root|0)(:|$)/.test(user))
      problems.push(issue("dockerfile/non-root", `the ${target.name} target must end on a non-root USER`))
    const entrypoint = lines.find((l) => /^ENTRYPOINT\s/i.test(l)) ?? ""
    if (!/tini/.test(entrypoint))
      problems.push(
        issue("dockerfile/pid1", `the ${target.name} target must run Node under an init (tini) that forwards SIGTERM`)
      )
  }
  if (dev && /distroless/.test(chain(dev).at(-1)?.from ?? ""))
    problems.push(issue("dockerfile/targets", "the dev target needs a shell and tar for live update"))
  // Tilt's live update only copies files: the dev target's own process must restart on them.
  if (dev && !dev.lines.some((l) => /^(CMD|ENTRYPOINT)\s/i.test(l) && /--watch|dev-watch/.test(l)))
    problems.push(
      issue("dockerfile/targets", "the dev target must restart the service on a synced change (a watching supervisor)")
    )
  if (production && !/distroless/.test(production.from))
    problems.push(issue("dockerfile/targets", "production must run on a minimal (distroless) base"))
  return problems
}
